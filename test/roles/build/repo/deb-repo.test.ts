import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clearsignedText, poolDir, readDsc } from '../../../../src/roles/build/repo/deb-repo.js';
import { tempDirs } from '../../../helpers/tmp.js';

describe('deb-repo: .dsc reading and pool paths', () => {
  const tmp = tempDirs('qb-debrepo-');
  const dsc = (files: string, source = 'qbuild-fixture') => `Format: 3.0 (native)\nSource: ${source}\nFiles:\n${files}`;

  it('reads the source name and its files from a clearsigned .dsc (dash-escaped lines undone)', () => {
    const text = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n${dsc(' 0123 10 x_1.dsc\n 4567 20 x_1.tar.xz\n')}- -dash line\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`;
    expect(clearsignedText(text)).toMatch(/\n-dash line\n$/);
    const path = join(tmp(), 'x_1.dsc');
    writeFileSync(path, text.replace('- -dash line\n', ''));
    expect(readDsc(path)).toEqual({ source: 'qbuild-fixture', files: ['x_1.dsc', 'x_1.tar.xz'] });
    expect(() => clearsignedText('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\ntext\n')).toThrow(/without a signature/);
  });

  it('refuses file names with a directory part or a leading dot, and bad source names', () => {
    const dir = tmp();
    const bad = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return () => readDsc(p); };
    expect(bad('a.dsc', dsc(' 0 1 ../../etc/passwd\n'))).toThrow(/bad Files line/);
    expect(bad('b.dsc', dsc(' 0 1 .hidden\n'))).toThrow(/bad Files line/);
    expect(bad('c.dsc', dsc(' 0 1 x.tar\n', 'Bad_Name'))).toThrow(/no valid Source field/);
    expect(bad('d.dsc', dsc(''))).toThrow(/lists no files/);
  });

  it('pool directories as reprepro and dak lay them out', () => {
    expect(poolDir('qubes-core-qrexec')).toBe('pool/main/q/qubes-core-qrexec');
    expect(poolDir('libvchan')).toBe('pool/main/libv/libvchan');
    expect(poolDir('lib')).toBe('pool/main/l/lib');
  });
});
