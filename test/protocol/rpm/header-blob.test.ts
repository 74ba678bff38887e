import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rpmManifestLine, rpmSignDigest, rpmSignedHeaderBlob } from '../../../src/protocol/rpm/header-blob.js';

const FIX = new URL('../../fixtures/rpm/', import.meta.url);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const work = mkdtempSync(join(tmpdir(), 'qb-rpm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs rpmsign with a %__gpg that records its argv and stdin, then fails (nothing is signed). */
function captureGpgInput(rpm: string): { argv: string[]; stdin: Buffer } {
  const cap = join(work, 'capture-gpg');
  writeFileSync(cap, `#!/bin/sh\nprintf '%s\\n' "$@" > ${work}/argv.txt\ncat > ${work}/stdin.bin\nexit 1\n`);
  chmodSync(cap, 0o755);
  try {
    execFileSync('rpmsign', ['--addsign', '--define', `__gpg ${cap}`, '--define', '_gpg_name Test', rpm], { stdio: 'pipe' });
  } catch { /* the capture script fails on purpose */ }
  return { argv: readFileSync(join(work, 'argv.txt'), 'utf8').trim().split('\n'), stdin: readFileSync(join(work, 'stdin.bin')) };
}

describe('rpm header blob', () => {
  it('equals the bytes rpmsign gave gpg (fixture captured with rpm 4.18)', () => {
    const rpm = readFileSync(new URL('qbuild-hello-1.0-1.noarch.rpm', FIX));
    const captured = readFileSync(new URL('qbuild-hello-1.0-1.noarch.gpg-stdin.bin', FIX));
    expect(rpmSignedHeaderBlob(rpm).equals(captured)).toBe(true);
    expect(rpmSignDigest(rpm)).toBe(sha(captured));
    expect(rpmManifestLine(rpm, 'qbuild-hello-1.0-1.noarch.rpm')).toBe(`qbuild-sign sha256:${sha(captured)} qbuild-hello-1.0-1.noarch.rpm`);
  });

  it('equals what this machine\'s rpmsign hands gpg for a freshly built package', () => {
    const top = join(work, 'top');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    copyFileSync(new URL('hello.spec', FIX), join(top, 'SPECS', 'hello.spec'));
    execFileSync('rpmbuild', ['--define', `_topdir ${top}`, '-bb', join(top, 'SPECS', 'hello.spec')], { stdio: 'pipe' });
    const dir = join(top, 'RPMS', 'noarch');
    const rpm = join(dir, readdirSync(dir)[0]!);
    const { argv, stdin } = captureGpgInput(rpm);
    expect(argv).toEqual(['--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'Test', '-sbo', `${rpm}.sig`, '--', '-']);
    expect(rpmSignedHeaderBlob(readFileSync(rpm)).equals(stdin)).toBe(true);
  });

  it('refuses what is not an rpm, and truncated headers', () => {
    expect(() => rpmSignedHeaderBlob(Buffer.from('hello'))).toThrow(/not an rpm/);
    const rpm = readFileSync(new URL('qbuild-hello-1.0-1.noarch.rpm', FIX));
    expect(() => rpmSignedHeaderBlob(rpm.subarray(0, 200))).toThrow(/truncated|too short/);
    const broken = Buffer.from(rpm);
    broken[96] = 0;
    expect(() => rpmSignedHeaderBlob(broken)).toThrow(/magic/);
    expect(() => rpmManifestLine(rpm, 'has space')).toThrow(/label/);
  });
});
