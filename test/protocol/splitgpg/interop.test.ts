import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';
import { KEYS_SERVICE, KeysQube } from '../../roles/keys/keys-qube.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';

/**
 * Interoperability with the stock Qubes split-gpg C programs, built from upstream's source for
 * the test only (nothing of it is copied into qbuild). Source: QBUILD_SPLIT_GPG_SRC (a
 * checkout of QubesOS/qubes-app-linux-split-gpg) or the local bare mirror; skipped without it.
 */
const MIRROR = '/work/.mirror/QubesOS+qubes-app-linux-split-gpg/repo';
const SRC_FILES = ['gpg-client.c', 'gpg-server.c', 'gpg-common.c', 'gpg-common.h', 'multiplex.c', 'multiplex.h', 'gpg-list-options.c'];

function fetchSources(dest: string): boolean {
  const src = process.env.QBUILD_SPLIT_GPG_SRC;
  try {
    for (const f of SRC_FILES) {
      const text = src ? execFileSync('cat', [join(src, 'src', f)]) : execFileSync('git', ['-C', MIRROR, 'show', `HEAD:src/${f}`]);
      writeFileSync(join(dest, f), text);
    }
    for (const p of ['gpg-client', 'gpg-server']) {
      execFileSync('gcc', ['-O', '-pthread', '-o', join(dest, p), join(dest, `${p}.c`), ...['multiplex.c', 'gpg-common.c', 'gpg-list-options.c'].map((f) => join(dest, f))], { stdio: 'pipe' });
    }
    return true;
  } catch {
    return false;
  }
}

const work = mkdtempSync(join(tmpdir(), 'qb-splitgpg-'));
const available = fetchSources(work);
// A skipped describe runs no hooks: clean up here then.
if (!available) rmSync(work, { recursive: true, force: true });

describe.skipIf(!available)('stock split-gpg interop', () => {
  let q: KeysQube;
  let home: GpgHome;
  let server: GpgHome | undefined;
  let ring = '';
  const data = Buffer.from('interop bytes\n');
  beforeAll(async () => {
    q = new KeysQube();
    home = new GpgHome();
    expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0);
    expect((await q.logReceived(q.ticket([data]))).code).toBe(0);
    ring = await home.keyring('gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc');
  });
  afterAll(() => { q?.cleanup(); home?.cleanup(); server?.cleanup(); rmSync(work, { recursive: true, force: true }); });

  it('stock qubes-gpg-client → qbuild qubes.Gpg: detached signature, status lines, list-keys', async () => {
    const fake = join(work, 'to-qbuild');
    if (KEYS_SERVICE === 'socket') {
      // The resident daemon, reached as qrexec-agent reaches a socket service: the header
      // `qubes.Gpg+ build-fedora\0`, stdin into the socket (EOF = shutdown for writing), the
      // socket's bytes to stdout, and exit 0 (qrexec's code for a socket service).
      await q.ensureDaemon();
      const relay = `const s = require('net').connect(${JSON.stringify(join(q.state, 'rpc', 'qubes.Gpg'))});
s.on('error', () => process.exit(125));
s.write('qubes.Gpg+ build-fedora\\0');
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on('close', () => process.exit(0));`;
      writeFileSync(fake, `#!/bin/sh\nexec '${process.execPath}' -e "$(cat <<'EOF'\n${relay}\nEOF\n)"\n`);
    } else {
      const env = q.env({ QREXEC_REMOTE_DOMAIN: 'build-fedora', QREXEC_SERVICE_FULL_NAME: 'qubes.Gpg' });
      const exports = Object.entries(env).map(([k, v]) => `export ${k}='${v}'`).join('\n');
      writeFileSync(fake, `#!/bin/sh\n${exports}\nexec '${qbuildBin()}' rpc qubes.Gpg\n`);
    }
    chmodSync(fake, 0o755);
    const clientEnv = { ...process.env, QREXEC_CLIENT_PATH: fake, QUBES_GPG_DOMAIN: 'keys-fedora' };
    const r = await run(join(work, 'gpg-client'), ['--status-fd=2', '-bsa', '-u', 'ed25519@test.invalid'], { env: clientEnv, stdin: data });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[GNUPG:\] SIG_CREATED D 22 8 00 /);
    writeFileSync(join(home.dir, 'd'), data);
    writeFileSync(join(home.dir, 'd.asc'), r.stdout);
    expect((await home.gpgv(ring, join(home.dir, 'd.asc'), join(home.dir, 'd'))).code).toBe(0);

    const l = await run(join(work, 'gpg-client'), ['--list-keys'], { env: clientEnv });
    expect(l.code).toBe(0);
    expect(l.stdout.toString()).toContain('ed25519@test.invalid');

    const refused = await run(join(work, 'gpg-client'), ['-bsa'], { env: clientEnv, stdin: 'not in any ticket' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused to sign: no ticket/);
  });

  it('qbuild sign → stock qubes-gpg-server (running real gpg)', async () => {
    server = new GpgHome();
    server.gpgSync(['-q', '--import'], { input: fixture('gpg-rsa.sec.asc') });
    const bin = join(work, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'qrexec-client-vm'), `#!/bin/sh\nGNUPGHOME='${server.dir}' exec '${work}/gpg-server' /usr/bin/gpg build-fedora\n`);
    chmodSync(join(bin, 'qrexec-client-vm'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}`, HOME: work, QUBES_GPG_DOMAIN: 'keys-fedora' };
    const sig = join(work, 'x.sig');
    // rpmsign's exact command line, -o handled locally
    const r = await run(qbuildBin(), ['sign', '--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'rsa@test.invalid', '-sbo', sig, '--', '-'], { env, stdin: data });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(sig)).toBe(true);
    writeFileSync(join(work, 'x'), data);
    expect((await home.gpgv(ring, sig, join(work, 'x'))).code).toBe(0);
    const git = await run(qbuildBin(), ['sign', '--status-fd=2', '-bsau', 'rsa@test.invalid'], { env, stdin: data });
    expect(git.code).toBe(0);
    expect(git.stderr).toMatch(/\n\[GNUPG:\] SIG_CREATED D 1 /);
    const v = await run(qbuildBin(), ['sign', '--status-fd=1', '--verify', sig, join(work, 'x')], { env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.toString()).toMatch(/\[GNUPG:\] GOODSIG /);
  });
});
