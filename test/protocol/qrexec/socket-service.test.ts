import { describe, expect, it } from 'vitest';
import { SocketHeaderReader, encodeSocketServiceHeader, parseSocketServiceHeader, encodeInBandExit, splitInBandExit } from '../../../src/protocol/qrexec/socket-service.js';

describe('qrexec socket service header (qubes-core-qrexec find_qrexec_service)', () => {
  it('encodes what qrexec-agent writes: the descriptor with its + (none = SERVICE+), a space, the source, one NUL', () => {
    expect(encodeSocketServiceHeader({ service: 'qubes.Gpg', argument: undefined, source: 'build-fedora' }).toString('latin1')).toBe('qubes.Gpg+ build-fedora\0');
    expect(encodeSocketServiceHeader({ service: 'qubesbuilder.LogReceived', argument: 'build-fedora', source: 'logs' }).toString('latin1'))
      .toBe('qubesbuilder.LogReceived+build-fedora logs\0');
  });

  it('parses both descriptor forms and checks every name', () => {
    expect(parseSocketServiceHeader(Buffer.from('qubes.Gpg+ build-fedora'))).toEqual({ service: 'qubes.Gpg', argument: undefined, source: 'build-fedora' });
    expect(parseSocketServiceHeader(Buffer.from('qubes.Gpg build-fedora'))).toEqual({ service: 'qubes.Gpg', argument: undefined, source: 'build-fedora' });
    expect(parseSocketServiceHeader(Buffer.from('qubesbuilder.LogReceived+build-fedora logs')).argument).toBe('build-fedora');
    for (const bad of ['qubes.Gpg+', 'qubes.Gpg+ build-fedora name dom0', 'qubes.Gpg+  build-fedora', 'qubes.Gpg+ 9vm', 'qu/bes+ vm', 'qubes.Gpg+a/b vm', '+arg vm', 'qubes.Gpg+ none']) {
      expect(() => parseSocketServiceHeader(Buffer.from(bad)), bad).toThrow(/header|invalid/);
    }
  });

  it('reads a header arriving in pieces, hands on the bytes after the NUL, and bounds the length', () => {
    const r = new SocketHeaderReader();
    expect(r.push(Buffer.from('qubes.G'))).toBeUndefined();
    const got = r.push(Buffer.from('pg+ build-fedora\0stdin bytes'));
    expect(got?.header.source).toBe('build-fedora');
    expect(got?.rest.toString()).toBe('stdin bytes');
    expect(() => new SocketHeaderReader().push(Buffer.alloc(300, 0x61))).toThrow(/longer than 256 bytes/);
    const split = new SocketHeaderReader();
    split.push(Buffer.alloc(200, 0x61));
    expect(() => split.push(Buffer.concat([Buffer.alloc(100, 0x61), Buffer.from([0])]))).toThrow(/longer than 256 bytes/);
  });
});

describe('in-band exit of a socket service (encodeInBandExit / splitInBandExit)', () => {
  it('puts stderr lines and the code after the output, and reads them back apart', () => {
    expect(encodeInBandExit('', 0)).toBe('exit 0\n');
    expect(encodeInBandExit('qbuild: keys: no\n', 1)).toBe('stderr: qbuild: keys: no\nexit 1\n');
    expect(splitInBandExit('exit 0\n')).toEqual({ code: 0, stdout: '', stderr: '' });
    const out = `checkpoint-size 7\n${encodeInBandExit('qbuild: keys: LogReceived refused: no\nsecond line', 1)}`;
    expect(splitInBandExit(out)).toEqual({ code: 1, stdout: 'checkpoint-size 7\n', stderr: 'qbuild: keys: LogReceived refused: no\nsecond line\n' });
    for (const s of ['', 'exit 0', 'exit 1\nmore\n', 'not exit 0\n', 'exit 1234\n']) expect(splitInBandExit(s), s).toBeUndefined();
  });
});
