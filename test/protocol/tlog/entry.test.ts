import { describe, expect, it } from 'vitest';
import { encodeEntry, MAX_ENTRY_BYTES, parseEntry, type LedgerEntry } from '../../../src/protocol/tlog/entry.js';

const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);
const entry: LedgerEntry = {
  vm: 'build-fedora',
  path: 'build-fedora/log_2026-11-26_00-10-00',
  logSha256: H1,
  digests: [
    { form: 'binary', sha256: H2, label: 'qubes-core-4.2.1-1.fc41.x86_64.rpm' },
    { form: 'clearsign', sha256: H1, label: 'InRelease' },
    { form: 'text', sha256: H2, label: 'repomd.xml' },
  ],
  start: '2026-11-26T00:10:00Z',
  end: '2026-11-26T00:12:03.250Z',
};
const TEXT = [
  'qbuild-ledger-entry v1',
  'vm build-fedora',
  'log build-fedora/log_2026-11-26_00-10-00',
  `log-sha256 ${H1}`,
  'start 2026-11-26T00:10:00Z',
  'end 2026-11-26T00:12:03.250Z',
  `sign sha256:${H2} qubes-core-4.2.1-1.fc41.x86_64.rpm`,
  `sign clearsign-sha256:${H1} InRelease`,
  `sign text-sha256:${H2} repomd.xml`,
  '',
].join('\n');

describe('ledger entry', () => {
  it('encodes to the documented text and round-trips exactly', () => {
    expect(encodeEntry(entry).toString('ascii')).toBe(TEXT);
    expect(parseEntry(Buffer.from(TEXT))).toEqual(entry);
    expect(encodeEntry(parseEntry(Buffer.from(TEXT))).toString()).toBe(TEXT);
    const none = { ...entry, digests: [] };
    expect(parseEntry(encodeEntry(none))).toEqual(none);
  });

  it('rejects anything unknown or out of shape', () => {
    const lines = TEXT.split('\n');
    const edit = (i: number, line: string | undefined): Buffer => {
      const copy = [...lines];
      if (line === undefined) copy.splice(i, 1);
      else copy[i] = line;
      return Buffer.from(copy.join('\n'));
    };
    const cases: [Buffer, RegExp][] = [
      [Buffer.from(TEXT.slice(0, -1)), /newline/],
      [Buffer.from(TEXT.replace('v1', 'v2')), /first line/],
      [edit(1, undefined), /expected "vm/],
      [edit(1, 'vm  build-fedora'), /exactly one value/],
      [edit(1, 'vm build fedora'), /exactly one value/],
      [edit(1, 'vm 1build'), /bad vm/],
      [edit(2, 'log ../etc/passwd'), /bad log path/],
      [edit(3, `log-sha256 ${H1.toUpperCase()}`), /log-sha256/],
      [edit(4, 'start 2026-11-26 00:10:00'), /exactly one value/],
      [edit(4, 'start 2026-11-26T00:10:00+00:00'), /YYYY/],
      [edit(4, 'start 2026-02-30T00:10:00Z'), /real time/],
      [edit(4, 'start 2100-02-29T00:10:00Z'), /real time/],
      [edit(4, 'start 2026-13-01T00:10:00Z'), /real time/],
      [edit(4, 'start 2026-11-26T24:00:00Z'), /real time/],
      [edit(4, 'start 2026-11-26T00:60:00Z'), /real time/],
      [edit(4, 'start 2026-11-26T00:00:60Z'), /real time/],
      [edit(4, 'start 2026-11-00T00:00:00Z'), /real time/],
      [edit(4, 'start 2026-11-27T00:10:00Z'), /before start/],
      [edit(6, `sign sha512:${H2} x`), /expected "sign/],
      [edit(6, `sign sha256:${H2}`), /expected "sign/],
      [edit(6, `sign sha256:${H2} a b`), /expected "sign/],
      [edit(6, `sign sha256:${H2.slice(1)} x`), /64 lowercase/],
      [edit(6, `note something`), /expected "sign/],
      [edit(6, ''), /expected "sign/],
      [Buffer.from(TEXT.replace('\n', '\r\n')), /printable ASCII/],
      [Buffer.from(TEXT.replace('InRelease', 'In\u00e9Release')), /printable ASCII/],
      [Buffer.from(`${TEXT}\n`), /expected "sign/],
    ];
    for (const [bytes, why] of cases) expect(() => parseEntry(bytes), bytes.toString()).toThrow(why);
    for (const day of ['2024-02-29', '2000-02-29']) {
      expect(parseEntry(encodeEntry({ ...entry, start: `${day}T00:00:00Z` })).start).toBe(`${day}T00:00:00Z`);
    }
  });

  it('refuses to encode an entry an entry bundle cannot carry', () => {
    const many = { ...entry, digests: Array.from({ length: 400 }, (_, i) => ({ form: 'binary' as const, sha256: H1, label: `${'p'.repeat(200)}-${i}.rpm` })) };
    expect(() => encodeEntry(many)).toThrow(/more than 65535/);
    expect(() => parseEntry(Buffer.alloc(MAX_ENTRY_BYTES + 1, 0x61))).toThrow(/too large/);
    expect(() => encodeEntry({ ...entry, vm: 'bad vm' })).toThrow(/bad vm/);
    expect(() => encodeEntry({ ...entry, start: '2026-11-26T00:10:00.5Z' })).toThrow(/YYYY/);
  });
});
