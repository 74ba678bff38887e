import type { Readable } from 'node:stream';
import { QbuildError } from '../../errors.js';

/** Reads a stream to its end, refusing more than `limit` bytes (outside input is bounded). */
export async function readAll(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new QbuildError('bad-input', `${what} larger than ${limit} bytes`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
