import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { run } from '../helpers/run.js';

const version = (JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { version: string }).version;

describe('the qbuild binary', () => {
  it('runs with an empty environment from another directory', async () => {
    const r = await run('env', ['-i', qbuildBin(), '--version'], { cwd: tmpdir() });
    expect(r.code).toBe(0);
    expect(r.stdout.toString().trim()).toBe(version);
  });

  it('compiles its bundle with the code caches build.mjs recorded, none rejected by V8', async () => {
    // sea-entry.ts picks a cache by command; a rejected one (other V8, other flags) would
    // silently cost every call its compile time again, so QBUILD_DEBUG makes it say so.
    const env = { PATH: process.env.PATH, QBUILD_DEBUG: '1', QREXEC_REMOTE_DOMAIN: 'build-x', QREXEC_SERVICE_FULL_NAME: 'qbuild.Noop' };
    for (const args of [['--version'], ['rpc', 'qbuild.Noop'], ['sign', '--help'], ['rpc', 'qubes.Gpg']]) {
      const r = await run(qbuildBin(), args, { env });
      expect(r.stderr, args.join(' ')).not.toMatch(/code cache .* rejected/);
    }
    const caches = join(dirname(qbuildBin()), 'cache');
    for (const k of ['main', 'sign', 'rpc-qubes.Gpg']) expect(existsSync(join(caches, `${k}.cache`)), k).toBe(true);
  });

  it('lists every top-level command in --help', async () => {
    const r = await run(qbuildBin(), ['--help']);
    expect(r.code).toBe(0);
    for (const c of ['provision', 'rpc', 'role', 'build', 'sign', 'verify', 'sim', 'demo']) expect(r.stdout.toString()).toContain(`qbuild ${c}`);
  });

  it('qbuild verify without what to verify is one usage line, exit 2', async () => {
    const r = await run(qbuildBin(), ['verify']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^qbuild: verify: /);
  });

  it('prints one line and exits 2 on a bad command line', async () => {
    const r = await run(qbuildBin(), ['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^qbuild: Unknown command: frobnicate/);
  });

  it('exits 127 for an unknown rpc service and 125 for an invalid name', async () => {
    const env = { PATH: process.env.PATH, QREXEC_REMOTE_DOMAIN: 'build-x' };
    const unknown = await run(qbuildBin(), ['rpc', 'qubes.NoSuchThing'], { env });
    expect(unknown.code).toBe(127);
    expect(unknown.stderr).toBe('qbuild: rpc: no such service: qubes.NoSuchThing\n');
    const bad = await run(qbuildBin(), ['rpc', '../etc/passwd'], { env });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^qbuild: rpc .*: invalid service name/);
  });

  it('refuses to run a service without a qrexec caller', async () => {
    const r = await run(qbuildBin(), ['rpc', 'qbuild.Noop'], { env: { PATH: process.env.PATH } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/QREXEC_REMOTE_DOMAIN is not set/);
  });
});
