import { describe, expect, it } from 'vitest';
import { field, formatParagraphs, parseParagraphs } from '../../../src/protocol/deb/control.js';

describe('deb control: index paragraphs', () => {
  const index = 'Package: a\nVersion: 1\nDescription: short\n long\n .\n more\n\n\nPackage: b\nversion: 2\n';

  it('splits at blank lines, joins continuations, matches field names case-insensitively, writes back the same text', () => {
    const ps = parseParagraphs(index);
    expect(ps.map((p) => field(p, 'package'))).toEqual(['a', 'b']);
    expect(field(ps[0]!, 'Description')).toBe('short\n long\n .\n more');
    expect(field(ps[1]!, 'Version')).toBe('2');
    expect(formatParagraphs(ps)).toBe('Package: a\nVersion: 1\nDescription: short\n long\n .\n more\n\nPackage: b\nversion: 2\n\n');
    expect(parseParagraphs(formatParagraphs(ps)).map((p) => p.text)).toEqual(ps.map((p) => p.text));
    expect(parseParagraphs('')).toEqual([]);
  });

  it('refuses a continuation before any field and a line that is not a field, naming the line', () => {
    expect(() => parseParagraphs(' orphan\n')).toThrow(/index line 1: continuation line before any field/);
    expect(() => parseParagraphs('Package: a\nno colon here\n')).toThrow(/index line 2: not a field/);
    expect(() => parseParagraphs('-Package: a\n')).toThrow(/not a field/);
    expect(() => parseParagraphs('#Package: a\n')).toThrow(/not a field/);
  });

  it('refuses a field given twice in one paragraph, in any case (Debian Policy 5.1): which value would count?', () => {
    expect(() => parseParagraphs('Package: a\nSHA256: 1\nSize: 2\nSHA256: 3\n')).toThrow('index line 4: field SHA256 given twice in one paragraph');
    expect(() => parseParagraphs('Package: a\nsha256: 1\nSHA256: 3\n')).toThrow('index line 3: field SHA256 given twice in one paragraph');
    expect(parseParagraphs('Package: a\n\nPackage: b\n').map((p) => field(p, 'Package'))).toEqual(['a', 'b']);
  });
});
