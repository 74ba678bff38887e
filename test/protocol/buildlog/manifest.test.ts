import { describe, expect, it } from 'vitest';
import { Manifest, formatManifestLine, parseManifestLine } from '../../../src/protocol/buildlog/manifest.js';

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
});
