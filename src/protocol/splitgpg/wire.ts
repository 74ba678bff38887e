/**
 * The split-gpg wire format (qubes.Gpg, design §5), as qubes-gpg-client/-server speak it on
 * x86 (host byte order = little-endian):
 * - one command header of 1028 bytes: `u32 len` + `char command[1024]`, where command is
 *   `\0arg1\0...\0argN\0` zero-padded and len is the index of the final NUL (0 for no args);
 * - then frames both ways: `i32 stream` + `u32 length` (≤ 4096) + bytes; length 0 closes that
 *   stream; a negative stream index `-(exit+1)` with length 0 ends the call with that exit code.
 * Pure: bytes in, values out.
 */
import { QbuildError } from '../../errors.js';

export const COMMAND_MAX_LEN = 1024;
export const HEADER_SIZE = 4 + COMMAND_MAX_LEN;
export const FRAME_HEADER_SIZE = 8;
export const FRAME_MAX_DATA = 4096;

/** Builds the 1028-byte command header. Rule: no argument may contain NUL; the whole must fit. */
export function encodeCommand(args: readonly string[]): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE);
  let pos = 4 + 1; // command[0] is the leading NUL
  for (const arg of args) {
    const bytes = Buffer.from(arg, 'utf8');
    if (bytes.includes(0)) throw new QbuildError('bad-input', 'a gpg argument contains a NUL byte');
    if (pos - 4 + bytes.length + 1 > COMMAND_MAX_LEN) throw new QbuildError('usage', 'gpg command line too long for split-gpg (1024 bytes)');
    bytes.copy(buf, pos);
    pos += bytes.length + 1;
  }
  buf.writeUInt32LE(args.length === 0 ? 0 : pos - 4 - 1, 0);
  return buf;
}

/**
 * Parses the command header. Rules (as gpg-server.c): len < 1024; command[len] is NUL; args
 * are the NUL-separated strings after command[0] up to len. Arguments come back as raw bytes:
 * the option parser decides whether they are acceptable UTF-8.
 */
export function decodeCommand(header: Buffer): Buffer[] {
  if (header.length !== HEADER_SIZE) throw new QbuildError('protocol', `invalid header size: ${header.length}`);
  const len = header.readUInt32LE(0);
  if (len >= COMMAND_MAX_LEN) throw new QbuildError('protocol', 'command too long');
  const command = header.subarray(4);
  if (command[len] !== 0) throw new QbuildError('protocol', 'command not NUL-terminated');
  const args: Buffer[] = [];
  for (let i = 0; i < len; i++) {
    if (command[i] === 0) {
      const end = command.indexOf(0, i + 1);
      args.push(Buffer.from(command.subarray(i + 1, end)));
    }
  }
  return args;
}

export type Frame =
  | { kind: 'data'; stream: number; data: Buffer }
  | { kind: 'close'; stream: number }
  | { kind: 'exit'; code: number };

export function encodeFrame(stream: number, data: Uint8Array): Buffer {
  if (data.length > FRAME_MAX_DATA) throw new QbuildError('internal', 'frame too large');
  const out = Buffer.alloc(FRAME_HEADER_SIZE + data.length);
  out.writeInt32LE(stream, 0);
  out.writeUInt32LE(data.length, 4);
  out.set(data, FRAME_HEADER_SIZE);
  return out;
}

/** Data split into frames of at most 4096 bytes (an empty buffer gives no frames). */
export function encodeData(stream: number, data: Uint8Array): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += FRAME_MAX_DATA) frames.push(encodeFrame(stream, data.subarray(off, off + FRAME_MAX_DATA)));
  return frames;
}

export function encodeClose(stream: number): Buffer {
  return encodeFrame(stream, new Uint8Array(0));
}

/** The end of a call: stream index -(code+1), length 0. Codes are 0..255 as exit statuses. */
export function encodeExit(code: number): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 255) throw new QbuildError('internal', `bad exit code ${code}`);
  const out = Buffer.alloc(FRAME_HEADER_SIZE);
  out.writeInt32LE(-(code + 1), 0);
  return out;
}

/**
 * Incremental frame reader: feed it chunks as they arrive (short reads are normal), take out
 * whole frames. Rules (as multiplex.c): length ≤ 4096; a data stream index must be below
 * `streams` (the number of streams the command line declared); a negative index is an exit
 * frame, only with length 0 and exit code ≤ 255.
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly streams: number) {}

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Frame[] = [];
    let off = 0;
    while (this.pending.length - off >= FRAME_HEADER_SIZE) {
      const stream = this.pending.readInt32LE(off);
      const len = this.pending.readUInt32LE(off + 4);
      if (len > FRAME_MAX_DATA) throw new QbuildError('protocol', `invalid block size received (${len})`);
      if (stream >= this.streams) throw new QbuildError('protocol', `invalid stream number ${stream}`);
      if (stream < 0) {
        if (len !== 0) throw new QbuildError('protocol', 'exit frame with data');
        const code = -1 - stream;
        if (code > 255) throw new QbuildError('protocol', `invalid exit code ${code}`);
        frames.push({ kind: 'exit', code });
        off += FRAME_HEADER_SIZE;
        // Nothing may follow the exit frame.
        if (this.pending.length > off) throw new QbuildError('protocol', 'data after the exit frame');
        continue;
      }
      if (this.pending.length - off < FRAME_HEADER_SIZE + len) break;
      if (len === 0) frames.push({ kind: 'close', stream });
      else frames.push({ kind: 'data', stream, data: Buffer.from(this.pending.subarray(off + FRAME_HEADER_SIZE, off + FRAME_HEADER_SIZE + len)) });
      off += FRAME_HEADER_SIZE + len;
    }
    this.pending = this.pending.subarray(off);
    return frames;
  }

  /** Bytes of an incomplete frame still waiting (non-zero at EOF means a truncated frame). */
  get buffered(): number { return this.pending.length; }
}

/** Collects the 1028-byte command header from a stream that may deliver it in pieces. */
export class HeaderReader {
  private parts: Buffer[] = [];
  private have = 0;
  /** Returns [header, rest] once complete, else undefined. */
  push(chunk: Buffer): [Buffer, Buffer] | undefined {
    this.parts.push(chunk);
    this.have += chunk.length;
    if (this.have < HEADER_SIZE) return undefined;
    const all = Buffer.concat(this.parts);
    this.parts = [];
    return [all.subarray(0, HEADER_SIZE), all.subarray(HEADER_SIZE)];
  }
  get buffered(): number { return this.have; }
}
