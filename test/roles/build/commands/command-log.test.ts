import { describe, expect, it } from 'vitest';
import { commandLogLines } from '../../../../src/roles/build/commands/command-log.js';

describe('commandLogLines', () => {
  it('puts every received line behind "received: ", so a comment cannot write a manifest or end marker line', () => {
    const text = '-----BEGIN PGP SIGNED MESSAGE-----\nqbuild-sign sha256:' + '0'.repeat(64) + ' evil\nqbuild-log-end\n';
    const out = commandLogLines({ from: 'sys-net', receivedAt: new Date('2026-12-02T02:00:00Z'), text, verdict: 'refused', reason: 'no' });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe(`qbuild command: from sys-net at 2026-12-02T02:00:00.000Z, ${Buffer.byteLength(text)} bytes`);
    expect(lines.slice(1, 4)).toEqual(['received: -----BEGIN PGP SIGNED MESSAGE-----', `received: qbuild-sign sha256:${'0'.repeat(64)} evil`, 'received: qbuild-log-end']);
    expect(lines.some((l) => /^qbuild-(sign|log-end)/.test(l))).toBe(false);
    expect(lines.slice(4)).toEqual(['signer: none', 'verdict: refused: no']);
  });
});
