import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_CODENAMES, debianRelease } from '../../../src/protocol/build/debian-dists.js';
import { parseDistName } from '../../../src/protocol/build/dist.js';
import { debianBuildVersion, distChangelogEntry, parseDebianVersion, readChangelogTop } from '../../../src/protocol/build/debian-version.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-debver-');
const TRAILER = ' -- Jane Maintainer <jane@example.invalid>  Mon, 01 Dec 2025 12:34:56 +0100';
const changelog = (version: string) => `pkg (${version}) unstable; urgency=low\n\n  * Release.\n\n${TRAILER}\n`;

/** What devscripts' debchange writes for `debchange -l +<tag> "Build for <codename>"` (upstream's first call). */
function debchangeLocal(version: string, codename: string): string {
  const dir = join(tmp(), 'pkg-1');
  mkdirSync(join(dir, 'debian'), { recursive: true });
  writeFileSync(join(dir, 'debian', 'changelog'), changelog(version));
  execFileSync('debchange', ['--no-conf', '-t', '-l', `+${debianRelease(codename).versionTag}`, `Build for ${codename}`], {
    cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBEMAIL: 'qbuild@example.invalid', DEBFULLNAME: 'qbuild test' },
  });
  return execFileSync('dpkg-parsechangelog', ['-l', join(dir, 'debian', 'changelog'), '-S', 'Version'], { encoding: 'utf8' }).trim();
}

describe('per-dist Debian versions', () => {
  const cases: [string, string, string][] = [
    // [source version, dist, build version]
    ['1.2.3', 'bookworm', '1.2.3+deb12u1'],
    ['1.2.3', 'trixie', '1.2.3+deb13u1'],
    ['4.3.16-1', 'bookworm', '4.3.16-1+deb12u1'],
    ['4.3.16-1', 'trixie', '4.3.16-1+deb13u1'],
    ['2:4.19.1-1', 'bookworm', '2:4.19.1-1+deb12u1'],
    ['1:1.0', 'trixie', '1:1.0+deb13u1'],
    ['1.0~rc1-2', 'bullseye', '1.0~rc1-2+deb11u1'],
    ['1.0-1', 'forky', '1.0-1+deb14u1'],
    ['1.0-1', 'noble', '1.0-1+noble1'],
    ['1.0-1', 'jammy', '1.0-1+jammy1'],
    // Already this dist's update: the counter goes up, as debchange -l does.
    ['2.0-1+deb12u1', 'bookworm', '2.0-1+deb12u2'],
    ['2.0-1+deb12u9', 'bookworm', '2.0-1+deb12u10'],
    // Another dist's suffix is not this one's.
    ['2.0-1+deb12u1', 'trixie', '2.0-1+deb12u1+deb13u1'],
  ];
  it.each(cases)('%s for %s is %s, the version debchange -l gives', (version, dist, expected) => {
    expect(debianBuildVersion(version, dist)).toBe(expected);
    expect(debchangeLocal(version, dist)).toBe(expected);
    // A dist's build sorts after the source version (apt upgrades to it), bookworm's before trixie's.
    execFileSync('dpkg', ['--compare-versions', expected, 'gt', version]);
  });

  it('orders one source version\'s builds as the releases: bookworm < trixie', () => {
    for (const v of ['1.2.3', '1:2.0-3']) {
      execFileSync('dpkg', ['--compare-versions', debianBuildVersion(v, 'bookworm'), 'lt', debianBuildVersion(v, 'trixie')]);
    }
  });

  it('refuses an unknown dist, naming the known ones', () => {
    expect(() => debianBuildVersion('1.0', 'sid')).toThrow(/^"sid": not a Debian or Ubuntu release qbuild builds for \(bullseye, bookworm, trixie, forky, jammy, noble\)$/);
    expect(() => debianBuildVersion('1.0', 'fc42')).toThrow(expect.objectContaining({ code: 'bad-input' }));
    expect(() => debianBuildVersion('1.0', 'toString')).toThrow(/not a Debian or Ubuntu release/);
  });

  it('refuses a version that is not a Debian version, or holds the suffix without a number at its end', () => {
    for (const [v, why] of [
      ['', /1-128 characters/], ['x'.repeat(129), /1-128 characters/],
      ['a1.0', /upstream version must start with a digit/], ['1.0 1', /upstream version/],
      ['1.0-', /Debian revision/], ['1.0-a_b', /Debian revision/], ['e:1.0', /epoch/], [':1.0', /epoch/],
      ['1:2:3', /upstream version/], ['1.0-1+deb12u1~', /does not end in a number/],
    ] as const) {
      expect(() => debianBuildVersion(v, 'bookworm'), v).toThrow(why);
    }
    // dpkg agrees those are not versions (it still takes a ':' in the upstream part after an
    // epoch, which Policy no longer allows and we refuse; the suffix case is a valid version we refuse to bump).
    for (const v of ['a1.0', '1.0-', 'e:1.0', ':1.0']) {
      expect(() => execFileSync('dpkg', ['--validate-version', v], { stdio: 'ignore' }), v).toThrow();
    }
  });

  it('splits a version as Policy §5.6.12 does', () => {
    expect(parseDebianVersion('1.2.3')).toEqual({ upstream: '1.2.3' });
    expect(parseDebianVersion('1:1.2-3-4')).toEqual({ epoch: '1', upstream: '1.2-3', revision: '4' });
    expect(parseDebianVersion('0:1.0+git~x')).toEqual({ epoch: '0', upstream: '1.0+git~x' });
  });

  it('every Debian dist name parses and has a tag; the table is the dist list', () => {
    for (const c of DEBIAN_CODENAMES) expect(parseDistName(`vm-${c}`)).toMatchObject({ format: 'deb', dist: c });
    expect(parseDistName('vm-sid')).toMatch(/unknown distribution/);
  });
});

describe('the build\'s changelog entry', () => {
  it('is what upstream\'s debchange calls and date clamp leave, and dpkg-parsechangelog reads it', () => {
    const text = changelog('1:4.3.16-1');
    const top = readChangelogTop(text);
    expect(top).toEqual({ source: 'pkg', version: '1:4.3.16-1', maintainer: 'Jane Maintainer <jane@example.invalid>', date: 'Mon, 01 Dec 2025 12:34:56 +0100' });
    const { version, entry } = distChangelogEntry(top, 'trixie');
    expect(version).toBe('1:4.3.16-1+deb13u1');
    expect(entry).toBe(`pkg (1:4.3.16-1+deb13u1) trixie; urgency=medium\n\n  * Build for trixie\n\n${TRAILER}\n\n`);
    const file = join(tmp(), 'changelog');
    writeFileSync(file, entry + text);
    const field = (f: string) => execFileSync('dpkg-parsechangelog', ['-l', file, '-S', f], { encoding: 'utf8' }).trim();
    expect([field('Version'), field('Distribution'), field('Urgency'), field('Maintainer'), field('Date')])
      .toEqual(['1:4.3.16-1+deb13u1', 'trixie', 'medium', 'Jane Maintainer <jane@example.invalid>', 'Mon, 01 Dec 2025 12:34:56 +0100']);
    expect(execFileSync('dpkg-parsechangelog', ['-l', file, '--format', 'rfc822', '--count', '2', '-S', 'Version'], { encoding: 'utf8' }))
      .toBe('1:4.3.16-1+deb13u1\n\n1:4.3.16-1\n');
    expect(readFileSync(file, 'utf8').endsWith(text)).toBe(true);
  });

  it('refuses a changelog without a header line or trailer, or with a bad source name', () => {
    expect(() => readChangelogTop('')).toThrow(/the first line must be/);
    expect(() => readChangelogTop(`\n${changelog('1.0')}`)).toThrow(/the first line must be/);
    expect(() => readChangelogTop('pkg (1.0) unstable; urgency=low\n\n  * x\n')).toThrow(/no " -- Name <email>  date" trailer/);
    expect(() => readChangelogTop(changelog('1.0').replace(/^pkg/, 'Pkg'))).toThrow(/is not a Debian source package name/);
    expect(() => readChangelogTop(changelog('1.0').replace('  Mon', ' Mon'))).toThrow(/trailer/);
    expect(() => readChangelogTop(changelog('a.0'))).toThrow(/upstream version must start with a digit/);
  });
});
