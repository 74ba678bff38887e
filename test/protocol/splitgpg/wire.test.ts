import { describe, expect, it } from 'vitest';
import {
  FrameDecoder, HEADER_SIZE, HeaderReader, decodeCommand, encodeClose, encodeCommand, encodeData, encodeExit, encodeFrame,
} from '../../../src/protocol/splitgpg/wire.js';

/** A header built byte by byte, as gpg-client.c lays it out on x86 (little-endian u32). */
function handHeader(len: number, command: number[]): Buffer {
  const b = Buffer.alloc(1028);
  b[0] = len & 0xff; b[1] = (len >> 8) & 0xff; b[2] = (len >> 16) & 0xff; b[3] = (len >>> 24) & 0xff;
  command.forEach((c, i) => { b[4 + i] = c; });
  return b;
}
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

describe('command header', () => {
  it('matches a hand-built fixture for `-bsa -u KEY`', () => {
    // \0 - b s a \0 - u \0 K E Y \0 ; len = index of the final NUL = 12
    const expected = handHeader(12, [0, ...ascii('-bsa'), 0, ...ascii('-u'), 0, ...ascii('KEY'), 0]);
    expect(encodeCommand(['-bsa', '-u', 'KEY']).equals(expected)).toBe(true);
    expect(decodeCommand(expected).map(String)).toEqual(['-bsa', '-u', 'KEY']);
  });

  it('encodes no arguments as len 0 and an all-zero command', () => {
    const h = encodeCommand([]);
    expect(h.length).toBe(HEADER_SIZE);
    expect(h.equals(Buffer.alloc(1028))).toBe(true);
    expect(decodeCommand(h)).toEqual([]);
  });

  it('keeps an empty argument', () => {
    const h = encodeCommand(['-u', '']);
    expect(decodeCommand(h).map(String)).toEqual(['-u', '']);
  });

  it('refuses len ≥ 1024, a missing final NUL and a wrong size', () => {
    expect(() => decodeCommand(handHeader(1024, [0]))).toThrow(/too long/);
    expect(() => decodeCommand(handHeader(3, [0, ...ascii('abc')]))).toThrow(/NUL-terminated/);
    expect(() => decodeCommand(Buffer.alloc(1027))).toThrow(/header size/);
  });

  it('ignores bytes after len (zero padding is not read)', () => {
    const h = handHeader(3, [0, ...ascii('-k'), 0, ...ascii('--export-secret-keys'), 0]);
    expect(decodeCommand(h).map(String)).toEqual(['-k']);
  });

  it('refuses a command line that does not fit, and NUL inside an argument', () => {
    expect(() => encodeCommand(['x'.repeat(1023)])).toThrow(/too long/);
    expect(encodeCommand(['x'.repeat(1021)]).readUInt32LE(0)).toBe(1022);
    expect(() => encodeCommand(['a\0b'])).toThrow(/NUL/);
  });

  it('collects a header delivered in pieces (short reads)', () => {
    const full = Buffer.concat([encodeCommand(['-k']), Buffer.from([1, 2, 3])]);
    const r = new HeaderReader();
    expect(r.push(full.subarray(0, 1))).toBeUndefined();
    expect(r.push(full.subarray(1, 1000))).toBeUndefined();
    const done = r.push(full.subarray(1000));
    expect(done![0].equals(full.subarray(0, 1028))).toBe(true);
    expect([...done![1]]).toEqual([1, 2, 3]);
  });
});

describe('frames', () => {
  it('matches hand-built bytes: data, close, exit', () => {
    expect([...encodeFrame(1, Buffer.from('hi'))]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 0x68, 0x69]);
    expect([...encodeClose(0)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    // exit 0 → stream -1; exit 2 → stream -3 (two's complement, little-endian)
    expect([...encodeExit(0)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    expect([...encodeExit(2)]).toEqual([0xfd, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  });

  it('splits data into frames of at most 4096 bytes', () => {
    const frames = encodeData(0, Buffer.alloc(9000, 7));
    expect(frames.map((f) => f.readUInt32LE(4))).toEqual([4096, 4096, 808]);
    expect(encodeData(0, Buffer.alloc(0))).toEqual([]);
  });

  it('decodes a stream byte by byte (short reads) into the same frames', () => {
    const wire = Buffer.concat([encodeFrame(0, Buffer.from('abc')), encodeFrame(2, Buffer.from('[GNUPG:] X\n')), encodeClose(0), encodeExit(3)]);
    const d = new FrameDecoder(3);
    const frames = [];
    for (const byte of wire) frames.push(...d.push(Buffer.from([byte])));
    expect(frames).toEqual([
      { kind: 'data', stream: 0, data: Buffer.from('abc') },
      { kind: 'data', stream: 2, data: Buffer.from('[GNUPG:] X\n') },
      { kind: 'close', stream: 0 },
      { kind: 'exit', code: 3 },
    ]);
    expect(d.buffered).toBe(0);
  });

  it('decodes exit 0 as +0 (stream -1)', () => {
    const [f] = new FrameDecoder(2).push(encodeExit(0));
    expect(f).toEqual({ kind: 'exit', code: 0 });
    expect(Object.is((f as { code: number }).code, 0)).toBe(true);
  });

  it('reports a truncated frame as still buffered', () => {
    const d = new FrameDecoder(2);
    expect(d.push(encodeFrame(0, Buffer.from('abcdef')).subarray(0, 10))).toEqual([]);
    expect(d.buffered).toBe(10);
  });

  it('refuses oversize frames, unknown streams, exit frames with data, data after exit, bad exit codes', () => {
    const hdr = (stream: number, len: number) => { const b = Buffer.alloc(8); b.writeInt32LE(stream, 0); b.writeUInt32LE(len, 4); return b; };
    expect(() => new FrameDecoder(2).push(hdr(0, 4097))).toThrow(/block size/);
    expect(() => new FrameDecoder(2).push(hdr(2, 1))).toThrow(/stream number/);
    expect(() => new FrameDecoder(2).push(hdr(-1, 1))).toThrow(/exit frame with data/);
    expect(() => new FrameDecoder(2).push(Buffer.concat([encodeExit(0), encodeClose(0)]))).toThrow(/after the exit/);
    expect(() => new FrameDecoder(2).push(hdr(-300, 0))).toThrow(/exit code/);
  });
});
