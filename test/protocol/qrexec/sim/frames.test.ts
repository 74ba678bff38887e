import { describe, expect, it } from 'vitest';
import {
  FrameDecoder, FrameType, MAX_FRAME, encodeExit, encodeFrame, encodeStderr, parseExit, parseRequest, type Frame,
} from '../../../../src/protocol/qrexec/sim/frames.js';
import { xorshift32 } from '../../../helpers/random.js';

const show = (frames: Frame[]) => frames.map((f) => ({ type: f.type, payload: f.payload.toString('latin1') }));

describe('simulator control frames', () => {
  it('round-trips frames split at every byte boundary', () => {
    const wire = Buffer.concat([
      encodeFrame(FrameType.Request, Buffer.from('{"target":"dom0","service":"a.B"}')),
      encodeFrame(FrameType.Started),
      encodeFrame(FrameType.Stderr, Buffer.from('oops\n')),
      encodeExit(126),
    ]);
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder();
      const frames = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      expect(frames.map((f) => f.type)).toEqual([FrameType.Request, FrameType.Started, FrameType.Stderr, FrameType.Exit]);
      expect(frames[2]!.payload.toString()).toBe('oops\n');
      expect(parseExit(frames[3]!.payload)).toBe(126);
      expect(d.pending).toBe(0);
    }
  });

  it('decodes random frame streams fed in random pieces, one byte at a time included', () => {
    const rnd = xorshift32(0x9e3779b9);
    for (let round = 0; round < 200; round++) {
      const frames: Frame[] = [];
      for (let i = rnd(8); i >= 0; i--) {
        const type = [FrameType.Request, FrameType.Started, FrameType.Stderr, FrameType.Exit][rnd(4)]!;
        const len = type === FrameType.Started ? 0 : rnd(4) === 0 ? rnd(3000) : rnd(20);
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
      expect(show(got)).toEqual(show(frames));
      expect(d.pending).toBe(0);
    }
  });

  it('splits large stderr into frames within MAX_FRAME', () => {
    const data = Buffer.alloc(MAX_FRAME * 2 + 7, 0x61);
    const wire = encodeStderr(data);
    expect(wire.map((b) => b.length)).toEqual([MAX_FRAME + 5, MAX_FRAME + 5, 12]);
    const frames = new FrameDecoder().push(Buffer.concat(wire));
    expect(frames.every((f) => f.type === FrameType.Stderr)).toBe(true);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(data)).toBe(true);
  });

  it('rejects unknown frame types (the old STDIN/STDOUT and ACCEPT ones too), oversize frames, bad EXIT and malformed requests', () => {
    expect(() => new FrameDecoder().push(Buffer.from([9, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(Buffer.from([2, 0, 0, 0, 16]))).toThrow(/unknown frame type 2/);
    expect(() => new FrameDecoder().push(Buffer.from([6, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(Buffer.from([0, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(Buffer.from([4, 0x7f, 0, 0, 0]))).toThrow(/too large/);
    expect(() => parseExit(Buffer.alloc(3))).toThrow(/EXIT frame of 3 bytes/);
    expect(() => parseRequest(Buffer.from('[]'))).toThrow();
    expect(() => parseRequest(Buffer.from('{"target":"x","service":"y","source":"dom0"}'))).toThrow(/unknown request field/);
    const token = '00112233445566778899aabbccddeeff';
    expect(parseRequest(Buffer.from(`{"target":"x","service":"y","argument":"z","token":"${token}"}`))).toEqual({ target: 'x', service: 'y', argument: 'z', token });
    for (const bad of [undefined, '', token.toUpperCase(), token.slice(1), `${token}0`, 'g'.repeat(32), 7]) {
      expect(() => parseRequest(Buffer.from(JSON.stringify({ target: 'x', service: 'y', token: bad }))), String(bad)).toThrow(/token of 32 lowercase hex/);
    }
  });
});
