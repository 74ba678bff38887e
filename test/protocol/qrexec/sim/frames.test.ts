import { describe, expect, it } from 'vitest';
import {
  DATA_CHUNK, FrameDecoder, FrameType, RELAY_HIGH_WATER, encodeExit, encodeFrame, parseRequest, writeData, type Frame,
} from '../../../../src/protocol/qrexec/sim/frames.js';

/** Consecutive data pieces of one type joined: what a consumer of the byte streams sees. */
function coalesce(frames: Frame[]): { type: FrameType; payload: string }[] {
  const out: { type: FrameType; payload: string; data: boolean }[] = [];
  for (const f of frames) {
    const data = f.type === FrameType.Stdin || f.type === FrameType.Stdout || f.type === FrameType.Stderr;
    const last = out[out.length - 1];
    if (data && last?.data && last.type === f.type) last.payload += f.payload.toString('latin1');
    else out.push({ type: f.type, payload: f.payload.toString('latin1'), data });
  }
  return out.map(({ type, payload }) => ({ type, payload }));
}

/** A sink that records what writeData hands to a socket. */
function recordingSink() {
  const rec = {
    writes: [] as Buffer[],
    corked: 0,
    write(b: Buffer) { rec.writes.push(b); return true; },
    cork() { rec.corked++; },
    uncork() { rec.corked--; },
    get writableLength() { return rec.writes.reduce((n, b) => n + b.length, 0); },
  };
  return rec;
}

describe('simulator frames', () => {
  it('round-trips frames split at every byte boundary', () => {
    const wire = Buffer.concat([
      encodeFrame(FrameType.Request, Buffer.from('{"target":"dom0","service":"a.B"}')),
      encodeFrame(FrameType.Stdin, Buffer.from('hello')),
      encodeFrame(FrameType.StdinEof),
      encodeExit(126),
    ]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      expect(frames.every((f) => f.payload.length > 0 || f.type === FrameType.StdinEof)).toBe(true);
      const c = coalesce(frames);
      expect(c.map((f) => f.type)).toEqual([FrameType.Request, FrameType.Stdin, FrameType.StdinEof, FrameType.Exit]);
      expect(c[1]!.payload).toBe('hello');
      expect(frames[frames.length - 1]!.payload.readUInt32BE(0)).toBe(126);
      expect(d.pending).toBe(0);
    }
  });

  it('decodes random frame streams fed in random pieces, one byte at a time included', () => {
    let x = 0x9e3779b9;
    const rnd = (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
    for (let round = 0; round < 200; round++) {
      const frames: Frame[] = [];
      for (let i = rnd(8); i >= 0; i--) {
        const type = [FrameType.Request, FrameType.Stdin, FrameType.StdinEof, FrameType.Stdout, FrameType.Stderr, FrameType.Exit][rnd(6)]!;
        const len = type === FrameType.StdinEof ? 0 : rnd(4) === 0 ? rnd(3000) : rnd(20);
        frames.push({ type, payload: Buffer.from(Array.from({ length: len }, () => rnd(256))) });
      }
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
      const d = new FrameDecoder();
      const got: Frame[] = [];
      for (let p = 0; p < wire.length;) {
        const step = round % 10 === 0 ? 1 : 1 + rnd(64);
        got.push(...d.push(wire.subarray(p, p + step)));
        p += step;
      }
      // Empty data frames carry nothing and may vanish; everything else arrives in order.
      const want = frames.filter((f) => f.payload.length > 0 || f.type === FrameType.Request || f.type === FrameType.StdinEof || f.type === FrameType.Exit);
      expect(coalesce(got)).toEqual(coalesce(want));
      expect(d.pending).toBe(0);
    }
  });

  it('hands out data pieces without copying the pushed chunk', () => {
    const chunk = encodeFrame(FrameType.Stdout, Buffer.from('abcdef'));
    const [f] = new FrameDecoder().push(chunk);
    expect(f!.payload.buffer).toBe(chunk.buffer);
    expect(f!.payload.toString()).toBe('abcdef');
  });

  it('writes data as corked header+payload frames of at most DATA_CHUNK bytes', () => {
    const data = Buffer.alloc(DATA_CHUNK * 2 + 7, 0x61);
    const r = recordingSink();
    expect(writeData(r, FrameType.Stdin, data)).toBe(true);
    expect(r.corked).toBe(0);
    expect(r.writes.map((b) => b.length)).toEqual([5, DATA_CHUNK, 5, DATA_CHUNK, 5, 7]);
    const frames = new FrameDecoder().push(Buffer.concat(r.writes));
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(data)).toBe(true);
    const big = recordingSink();
    expect(writeData(big, FrameType.Stdin, Buffer.alloc(RELAY_HIGH_WATER))).toBe(false);
  });

  it('rejects unknown frame types, oversize frames and malformed requests', () => {
    expect(() => new FrameDecoder().push(Buffer.from([9, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(Buffer.from([2, 0x7f, 0, 0, 0]))).toThrow(/too large/);
    expect(() => parseRequest(Buffer.from('[]'))).toThrow();
    expect(() => parseRequest(Buffer.from('{"target":"x","service":"y","source":"dom0"}'))).toThrow(/unknown request field/);
    expect(parseRequest(Buffer.from('{"target":"x","service":"y","argument":"z"}'))).toEqual({ target: 'x', service: 'y', argument: 'z' });
  });
});
