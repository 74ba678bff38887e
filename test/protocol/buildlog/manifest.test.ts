import { describe, expect, it } from 'vitest';
import { Manifest, formatManifestLine, parseManifestLine } from '../../../src/protocol/buildlog/manifest.js';
import { MAX_ENTRY_BYTES, encodeEntry } from '../../../src/protocol/tlog/entry.js';

const h = 'ab'.repeat(32);

describe('manifest lines', () => {
  it('parses the three forms and formats them back', () => {
    expect(parseManifestLine(`qbuild-sign sha256:${h} a.rpm`)).toEqual({ form: 'binary', sha256: h, label: 'a.rpm' });
    expect(parseManifestLine(`qbuild-sign text-sha256:${h} Release`)).toEqual({ form: 'text', sha256: h, label: 'Release' });
    expect(parseManifestLine(`qbuild-sign clearsign-sha256:${h} InRelease`)).toEqual({ form: 'clearsign', sha256: h, label: 'InRelease' });
    for (const line of [`qbuild-sign sha256:${h} a`, `qbuild-sign text-sha256:${h} b`, `qbuild-sign clearsign-sha256:${h} c`]) {
      expect(formatManifestLine(parseManifestLine(line)!)).toBe(line);
    }
  });

  it('refuses unknown tokens, case changes and anything around the line', () => {
    for (const bad of [
      `qbuild-sign sha512:${h} a`, `qbuild-sign TEXT-sha256:${h} a`, `qbuild-sign text-SHA256:${h} a`,
      `qbuild-sign text:${h} a`, `qbuild-sign -sha256:${h} a`, `qbuild-sign text-sha256:${h.toUpperCase()} a`,
      `qbuild-sign clearsign-sha256:${h} a b`, ` qbuild-sign text-sha256:${h} a`, `qbuild-sign text-sha256:${h} a `,
      `qbuild-sign text-sha256:${h.slice(1)} a`, `qbuild-sign text-sha256 ${h} a`,
    ]) expect(parseManifestLine(bad), bad).toBeUndefined();
  });

  it('keeps the same digest in two forms as two entries', () => {
    const m = new Manifest();
    m.add({ form: 'binary', sha256: h, label: 'x' });
    m.add({ form: 'text', sha256: h, label: 'x' });
    m.add({ form: 'text', sha256: h, label: 'x' });
    expect(m.entries.map((e) => e.form)).toEqual(['binary', 'text']);
  });

  it('keeps only what always fits in one ledger entry, even with the longest labels, VM name and path', () => {
    const m = new Manifest();
    for (let i = 0; i < 1000; i++) m.add({ form: 'clearsign', sha256: i.toString(16).padStart(64, '0'), label: `L${i}`.padEnd(255, 'x') });
    expect(m.entries.length).toBeGreaterThan(150);
    expect(m.dropped).toBe(1000 - m.entries.length);
    const path = Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(63, 'p')).join('/');
    const bytes = encodeEntry({
      vm: 'b'.repeat(31), path, logSha256: h, digests: m.entries,
      start: '2026-12-02T01:02:03.456Z', end: '2026-12-02T01:02:04.567Z',
    });
    expect(bytes.length).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
  });
});
