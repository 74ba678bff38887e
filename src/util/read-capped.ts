import type { Readable } from 'node:stream';
import { QbuildError } from '../errors.js';

/**
 * Reads a stream to its end. Rule: outside input is bounded; one byte more than `limit` is a
 * `bad-input` error with the message `tooLarge` (the rest is not drained).
 */
export async function readCapped(stream: Readable, limit: number, tooLarge: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new QbuildError('bad-input', tooLarge);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
