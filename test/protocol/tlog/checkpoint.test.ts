import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseNote, parseSignerKey, parseVerifierKey } from '../../../src/protocol/note/note.js';
import { formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { emptyRoot } from '../../../src/protocol/tlog/merkle.js';

// The example note of the C2SP tlog-checkpoint specification (c2sp.org/tlog-checkpoint).
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_NOTE = `${SPEC_BODY}\n\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n`;

describe('tlog-checkpoint', () => {
  it('parses the specification example and formats it back byte for byte', () => {
    const c = parseCheckpoint(parseNote(SPEC_NOTE).text);
    expect(c.origin).toBe('example.com/behind-the-sofa');
    expect(c.size).toBe(20852163);
    expect(c.root.toString('base64')).toBe('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
    expect(c.extensions).toEqual([]);
    expect(formatCheckpoint(c)).toBe(SPEC_BODY);
  });

  it('round-trips extension lines and the empty tree', () => {
    const body = `log.example/q\n0\n${emptyRoot().toString('base64')}\nTimestamp: 1\nanother one\n`;
    const c = parseCheckpoint(body);
    expect(c).toEqual({ origin: 'log.example/q', size: 0, root: emptyRoot(), extensions: ['Timestamp: 1', 'another one'] });
    expect(formatCheckpoint(c)).toBe(body);
  });

  it('rejects every malformed body', () => {
    const root = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
    const cases: [string, RegExp][] = [
      [`o\n1\n${root}`, /end with a newline/],
      [`o\n1\n`, /needs an origin/],
      [`\n1\n${root}\n`, /origin line is empty/],
      [`o\n01\n${root}\n`, /leading zeroes/],
      [`o\n-1\n${root}\n`, /leading zeroes/],
      [`o\n+1\n${root}\n`, /leading zeroes/],
      [`o\n 1\n${root}\n`, /leading zeroes/],
      [`o\n1e3\n${root}\n`, /leading zeroes/],
      [`o\n99999999999999999999\n${root}\n`, /too large/],
      [`o\n1\n${root.slice(0, -1)}\n`, /base64/],
      [`o\n1\n${Buffer.alloc(31).toString('base64')}\n`, /base64/],
      [`o\n1\n${Buffer.alloc(32, 0xff).toString('base64url')}=\n`, /base64/],
      [`o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n`, /canonical/],
      [`o\n1\n${root}\n\n`, /extension line is empty/],
      [`o\n1\n${root}\next\r\n`, /control/],
      [`o\t\n1\n${root}\n`, /control/],
    ];
    for (const [body, why] of cases) expect(() => parseCheckpoint(body), JSON.stringify(body)).toThrow(why);
    expect(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: emptyRoot(), extensions: [] })).toThrow();
    expect(() => formatCheckpoint({ origin: 'a', size: -1, root: emptyRoot(), extensions: [] })).toThrow();
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root: Buffer.alloc(31), extensions: [] })).toThrow();
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root: emptyRoot(), extensions: [''] })).toThrow();
  });

  it('signs and opens a checkpoint with the log key, checking the origin', () => {
    const log = generateNoteKey('logs.example/qbuild');
    const c = { origin: 'logs.example/qbuild', size: 5, root: emptyRoot(), extensions: [] };
    const note = signCheckpoint(c, parseSignerKey(log.signerKey));
    const v = parseVerifierKey(log.verifierKey);
    expect(openCheckpoint(note, [v], 'logs.example/qbuild')).toEqual(c);
    expect(() => openCheckpoint(note, [v], 'other.example/log')).toThrow(/origin/);
    expect(() => openCheckpoint(note.replace('\n5\n', '\n6\n'), [v])).toThrow(/does not verify/);
    const stranger = generateNoteKey('logs.example/qbuild');
    expect(() => openCheckpoint(note, [parseVerifierKey(stranger.verifierKey)])).toThrow(/no signature by a trusted key/);
  });
});
