import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packagesText, packagesWithDigest } from '../../../src/protocol/deb/packages.js';
import { isPackagesIndex, parseRelease } from '../../../src/protocol/deb/release.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-deb-release-');
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A suite's dists dir with one Packages index, and the Release apt-ftparchive writes for it. */
function suite(packages: string): { dir: string; release: string } {
  const dir = tmp();
  const bin = join(dir, 'main', 'binary-amd64');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'Packages'), packages);
  writeFileSync(join(bin, 'Packages.gz'), gzipSync(packages));
  const release = execFileSync('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Suite=trixie-testing', 'release', '.'], { cwd: dir }).toString('utf8');
  return { dir, release };
}

const ENTRY = `Package: qubes-x\nVersion: 1.0-1\nArchitecture: amd64\nFilename: pool/main/q/qubes-x/qubes-x_1.0-1_amd64.deb\nSize: 5\nSHA256: ${sha('hello')}\nDescription: x\n`;

describe('deb Release (apt-ftparchive output)', () => {
  it('reads the suite and each SHA256 line of a Release apt-ftparchive wrote', () => {
    const s = suite(ENTRY);
    const r = parseRelease(s.release);
    expect(r.suite).toBe('trixie-testing');
    const byPath = new Map(r.sha256.map((f) => [f.path, f]));
    const packages = readFileSync(join(s.dir, 'main', 'binary-amd64', 'Packages'));
    expect(byPath.get('main/binary-amd64/Packages')).toEqual({ path: 'main/binary-amd64/Packages', sha256: sha(packages), size: packages.length });
    expect(byPath.has('main/binary-amd64/Packages.gz')).toBe(true);
    expect(['main/binary-amd64/Packages', 'main/binary-amd64/Packages.gz', 'main/binary-amd64/Packages.xz'].every(isPackagesIndex)).toBe(true);
    expect(['main/source/Sources', 'Packages', 'main/binary-amd64/Release', 'main/binary-amd64/Packages.bz2'].some(isPackagesIndex)).toBe(false);
  });

  it('refuses what it does not understand, naming it', () => {
    const line = ` ${sha('x')} 1 main/binary-amd64/Packages`;
    expect(() => parseRelease('Suite: a\n')).toThrow('Release: no SHA256 field');
    expect(() => parseRelease(`Suite: a\n\nSHA256:\n${line}\n`)).toThrow('Release: 2 paragraphs, expected one');
    expect(() => parseRelease('SHA256: x\n')).toThrow(/SHA256 field starts with "x" on its own line/);
    expect(() => parseRelease('SHA256:\n')).toThrow('the SHA256 field lists no file');
    expect(() => parseRelease(`SHA256:\n${line}\n${line}\n`)).toThrow('main/binary-amd64/Packages listed twice');
    for (const bad of [` ${sha('x').toUpperCase()} 1 p`, ` ${sha('x')} -1 p`, ` ${sha('x')} 1 ../p`, ` ${sha('x')} 1 /etc/p`, ` ${sha('x')} 1 a//p`, ` ${sha('x')} 1`, ` 0123 1 p`]) {
      expect(() => parseRelease(`SHA256:\n${bad}\n`), bad).toThrow(/SHA256 line not understood/);
    }
  });
});

describe('deb Packages index', () => {
  it('finds the entry with a digest and size, in a plain or gzip index; refuses xz and an entry without its fields', () => {
    const idx = `${ENTRY}\nPackage: other\nVersion: 2\nArchitecture: all\nFilename: pool/o.deb\nSize: 5\nSHA256: ${sha('world')}\n`;
    expect(packagesWithDigest(packagesText(Buffer.from(idx)), sha('hello'), 5)).toEqual([
      { package: 'qubes-x', version: '1.0-1', architecture: 'amd64', filename: 'pool/main/q/qubes-x/qubes-x_1.0-1_amd64.deb', size: 5, sha256: sha('hello') },
    ]);
    expect(packagesWithDigest(packagesText(gzipSync(idx)), sha('world'), 5).map((e) => e.package)).toEqual(['other']);
    expect(packagesWithDigest(idx, sha('hello'), 6)).toEqual([]);
    expect(() => packagesText(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1]))).toThrow(/xz-compressed Packages index: give the suite's Packages or Packages\.gz/);
    expect(() => packagesText(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toThrow(/^Packages\.gz: /);
    expect(() => packagesWithDigest(ENTRY.replace(/^Filename: .*\n/m, ''), sha('hello'), 5)).toThrow(/has no Filename field/);
  });

  it('a Size is a plain decimal, as apt-ftparchive writes it: hex, exponent or empty forms do not match', () => {
    for (const size of ['0x5', '5e0', '5.0', '+5', '05']) {
      expect(packagesWithDigest(ENTRY.replace('Size: 5', `Size: ${size}`), sha('hello'), 5), size).toEqual([]);
    }
    expect(packagesWithDigest(ENTRY.replace('Size: 5', 'Size:'), sha(''), 0)).toEqual([]);
  });
});
