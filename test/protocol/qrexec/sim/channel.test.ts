import { describe, expect, it } from 'vitest';
import {
  CHANNEL_HEADER_BYTES, CHANNEL_MAGIC, ChannelHeaderReader, TOKEN_BYTES, encodeChannelHeader, randomToken,
} from '../../../../src/protocol/qrexec/sim/channel.js';
import { FrameType } from '../../../../src/protocol/qrexec/sim/frames.js';

const token = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

describe('simulator data-channel headers', () => {
  it('reads the header split at every byte boundary, and names token and channel', () => {
    for (const channel of ['stdin', 'stdout'] as const) {
      const wire = encodeChannelHeader(channel, token);
      expect(wire.length).toBe(CHANNEL_HEADER_BYTES);
      for (let cut = 0; cut <= wire.length; cut++) {
        const r = new ChannelHeaderReader();
        const a = r.push(wire.subarray(0, cut));
        const b = r.push(wire.subarray(cut));
        expect(cut === wire.length ? a : b).toEqual({ channel, token: token.toString('hex') });
        if (cut < wire.length) expect(a).toBeUndefined();
      }
    }
  });

  it('tells a data connection from a control connection by its first byte', () => {
    expect(CHANNEL_MAGIC).not.toBe(FrameType.Request);
    expect(() => new ChannelHeaderReader().push(Buffer.from([FrameType.Request]))).toThrow(/not a data channel/);
  });

  it('rejects a bad magic, an unknown channel, and any byte past the header', () => {
    expect(() => new ChannelHeaderReader().push(Buffer.from([0x45, 1]))).toThrow(/not a data channel/);
    for (const c of [0, 3, 0xff]) expect(() => new ChannelHeaderReader().push(Buffer.from([CHANNEL_MAGIC, c]))).toThrow(/unknown data channel/);
    const split = new ChannelHeaderReader();
    expect(split.push(Buffer.from([CHANNEL_MAGIC]))).toBeUndefined();
    expect(() => split.push(Buffer.from([7]))).toThrow(/unknown data channel 7/);
    const wire = encodeChannelHeader('stdin', token);
    expect(() => new ChannelHeaderReader().push(Buffer.concat([wire, Buffer.from('x')]))).toThrow(/before the service started/);
    const done = new ChannelHeaderReader();
    expect(done.push(wire)).toBeDefined();
    expect(() => done.push(Buffer.from('x'))).toThrow(/before the service started/);
  });

  it('makes fresh random tokens of TOKEN_BYTES, and headers only from such tokens', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const t = randomToken();
      expect(t.length).toBe(TOKEN_BYTES);
      seen.add(t.toString('hex'));
    }
    expect(seen.size).toBe(100);
    expect(() => encodeChannelHeader('stdout', Buffer.alloc(TOKEN_BYTES - 1))).toThrow();
  });
});
