import { describe, expect, it } from 'vitest';
import { FrameDecoder, FrameType, encodeExit, encodeFrame, parseRequest } from '../../../../src/protocol/qrexec/sim/frames.js';

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
      expect(frames.map((f) => f.type)).toEqual([FrameType.Request, FrameType.Stdin, FrameType.StdinEof, FrameType.Exit]);
      expect(frames[3]!.payload.readUInt32BE(0)).toBe(126);
      expect(d.pending).toBe(0);
    }
  });

  it('rejects unknown frame types, oversize frames and malformed requests', () => {
    expect(() => new FrameDecoder().push(Buffer.from([9, 0, 0, 0, 0]))).toThrow(/unknown frame type/);
    expect(() => new FrameDecoder().push(Buffer.from([2, 0x7f, 0, 0, 0]))).toThrow(/too large/);
    expect(() => parseRequest(Buffer.from('[]'))).toThrow();
    expect(() => parseRequest(Buffer.from('{"target":"x","service":"y","source":"dom0"}'))).toThrow(/unknown request field/);
    expect(parseRequest(Buffer.from('{"target":"x","service":"y","argument":"z"}'))).toEqual({ target: 'x', service: 'y', argument: 'z' });
  });
});
