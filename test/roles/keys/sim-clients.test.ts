import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editVmConfig, type SimHandle } from '../../helpers/sim.js';
import { startKeysSim } from './keys-qube.js';
import { run } from '../../helpers/run.js';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signTicket } from '../../../src/protocol/ticket/ticket.js';
import { rpmSignDigest } from '../../../src/protocol/rpm/header-blob.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';
import { formDigest, type SignForm } from '../../../src/protocol/signform.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'ed25519@test.invalid';

describe('real clients through the simulator: rpmsign, git, InRelease', () => {
  let sim: SimHandle;
  const note = generateNoteKey('qbuild-logs/logs');
  const home = new GpgHome();
  let ring = '';
  let buildHome = '';
  let wrapper = '';
  const buildEnv = () => ({ ...process.env, ...sim.env('build-fedora'), GNUPGHOME: home.dir });

  /** What the logs VM does once a build log is published: a signed ticket, via dom0's redirect. */
  async function ticket(items: (Buffer | string | { form: SignForm; data: Buffer })[], o: { vm?: string; expiresInMs?: number } = {}) {
    const now = Date.now();
    const digests = items.map((it, i) => typeof it === 'string' || Buffer.isBuffer(it)
      ? { form: 'binary' as const, sha256: typeof it === 'string' ? it : sha(it), label: `item-${i}` }
      : { form: it.form, sha256: formDigest(it.form, it.data), label: `item-${i}` });
    const vm = o.vm ?? 'build-fedora';
    const text = signTicket({
      buildVm: vm, logPath: `${vm}/log_2026-11-26_00-00-00`, logSha256: 'c'.repeat(64),
      issued: new Date(now - 1000), expires: new Date(now + (o.expiresInMs ?? 600_000)), digests,
    }, parseSignerKey(note.signerKey));
    return sim.call('logs', 'dom0', `qubesbuilder.LogReceived+${vm}`, { stdin: text });
  }
  const sign = (args: string[], stdin?: Buffer | string) =>
    run(wrapper, args, { env: buildEnv(), cwd: buildHome, stdin: stdin ?? '' });

  beforeAll(async () => {
    sim = await startKeysSim({
      daemons: false,
      // These tickets are v1 (no ledger): the keys VM takes them only with acceptV1Tickets.
      configure: (dir) => editVmConfig(dir, 'keys-fedora', (c) => { c.keys.logsPublicKey = note.verifierKey; c.keys.acceptV1Tickets = true; }),
    });
    for (const k of ['gpg-ed25519.sec.asc', 'gpg-rsa.sec.asc']) {
      const r = await sim.run('keys-fedora', ['role', 'keys', 'import', '-'], { stdin: fixture(k) });
      expect(r.code, r.stderr).toBe(0);
    }
    await home.importPublic('gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc');
    ring = await home.keyring('gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc');
    buildHome = join(sim.qubeDir('build-fedora'), 'home');
    wrapper = join(buildHome, 'qbuild-gpg');
    writeFileSync(wrapper, `#!/bin/sh\nexec "$QBUILD_BIN" sign "$@"\n`);
    chmodSync(wrapper, 0o755);
  });
  afterAll(async () => { await sim?.down(); home.cleanup(); });

  function buildRpm(): string {
    const top = join(buildHome, 'rpmbuild');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    copyFileSync(new URL('../../fixtures/rpm/hello.spec', import.meta.url), join(top, 'SPECS', 'hello.spec'));
    execFileSync('rpmbuild', ['--define', `_topdir ${top}`, '-bb', join(top, 'SPECS', 'hello.spec')], { stdio: 'pipe' });
    const dir = join(top, 'RPMS', 'noarch');
    return join(dir, readdirSync(dir)[0]!);
  }
  const rpmsign = (rpm: string, key = KEY) => run('rpmsign', ['--addsign', '--define', `__gpg ${wrapper}`, '--define', `_gpg_name ${key}`, rpm], { env: buildEnv(), cwd: buildHome });

  it('rpmsign through qbuild sign: refused without a ticket (rpm untouched), then rpm -K says OK', async () => {
    const rpm = buildRpm();
    const before = readFileSync(rpm);
    const refused = await rpmsign(rpm);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/refused to sign: no ticket for sha256:/);
    expect(readFileSync(rpm).equals(before)).toBe(true);
    expect(existsSync(`${rpm}.sig`)).toBe(false);

    // The build VM lists the header blob's digest; the logs VM sends the ticket.
    const lr = await ticket([rpmSignDigest(before)]);
    expect(lr.code, lr.stderr).toBe(0);
    const r = await rpmsign(rpm);
    expect(r.code, r.stderr).toBe(0);
    expect(rpmSignDigest(readFileSync(rpm))).toBe(rpmSignDigest(before)); // signing keeps the digest

    const db = join(home.dir, 'rpmdb');
    mkdirSync(db, { recursive: true });
    writeFileSync(join(home.dir, 'ed.pub.asc'), fixture('gpg-ed25519.pub.asc'));
    execFileSync('rpm', ['--dbpath', db, '--import', join(home.dir, 'ed.pub.asc')], { stdio: 'pipe' });
    const k = await run('rpm', ['--dbpath', db, '-Kv', rpm]);
    expect(k.code, k.stdout.toString() + k.stderr).toBe(0);
    expect(k.stdout.toString()).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
  });

  it('git commit -S through qbuild sign, git verify-commit is good', async () => {
    const repo = join(buildHome, 'repo');
    mkdirSync(repo, { recursive: true });
    const git = (args: string[], extra: NodeJS.ProcessEnv = {}) => run('git', args, {
      cwd: repo,
      env: { ...buildEnv(), GIT_AUTHOR_NAME: 'Builder', GIT_AUTHOR_EMAIL: 'b@test.invalid', GIT_COMMITTER_NAME: 'Builder',
        GIT_COMMITTER_EMAIL: 'b@test.invalid', GIT_AUTHOR_DATE: '2026-11-26T00:00:00Z', GIT_COMMITTER_DATE: '2026-11-26T00:00:00Z',
        GIT_CONFIG_NOSYSTEM: '1', HOME: buildHome, ...extra },
    });
    expect((await git(['init', '-q', '-b', 'main'])).code).toBe(0);
    writeFileSync(join(repo, 'README'), 'signed through the keys VM\n');
    await git(['add', 'README']);
    // What git will hand gpg: the commit object without its gpgsig header (same dates, same tree).
    expect((await git(['commit', '-q', '-m', 'first'])).code).toBe(0);
    const payload = (await git(['cat-file', 'commit', 'HEAD'])).stdout;
    await git(['update-ref', '-d', 'HEAD']);
    expect((await ticket([payload])).code).toBe(0);
    const c = await git(['-c', `gpg.program=${wrapper}`, '-c', `user.signingkey=${KEY}`, 'commit', '-q', '-S', '-m', 'first']);
    expect(c.code, c.stderr).toBe(0);
    const v = await git(['verify-commit', 'HEAD']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/Good signature from "Qbuild Test Ed25519/);
    // git can also verify through the keys VM (public keys only, no ticket needed).
    const vq = await git(['-c', `gpg.program=${wrapper}`, 'verify-commit', 'HEAD']);
    expect(vq.code, vq.stderr).toBe(0);
    expect(vq.stderr).toMatch(/Good signature from "Qbuild Test Ed25519/);
  });

  it('a clearsigned InRelease made through qbuild sign passes gpgv; a detached Release.gpg too', async () => {
    const repo = join(buildHome, 'apt');
    mkdirSync(join(repo, 'main'), { recursive: true });
    writeFileSync(join(repo, 'main', 'Packages'), '');
    const release = execFileSync('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Origin=qbuild', 'release', '.'], { cwd: repo });
    writeFileSync(join(repo, 'Release'), release);
    // InRelease binds the cleartext, Release.gpg the raw bytes: the manifest names both.
    expect((await ticket([{ form: 'clearsign', data: release }, release])).code).toBe(0);
    const r = await sign(['-u', 'rsa@test.invalid', '--digest-algo', 'SHA256', '--clearsign', '-o', join(repo, 'InRelease'), join(repo, 'Release')]);
    expect(r.code, r.stderr).toBe(0);
    const v = await home.gpgv(ring, join(repo, 'InRelease'));
    expect(v.code, v.stderr).toBe(0);
    const d = await sign(['-u', 'rsa@test.invalid', '-abs', '-o', join(repo, 'Release.gpg'), join(repo, 'Release')]);
    expect(d.code, d.stderr).toBe(0);
    expect((await home.gpgv(ring, join(repo, 'Release.gpg'), join(repo, 'Release'))).code).toBe(0);
  });

  it('refuses: no ticket, a ticket for other bytes, for another VM, expired — and writes nothing', async () => {
    const out = join(buildHome, 'never.asc');
    const data = Buffer.from('bytes nobody logged\n');
    const none = await sign(['-u', KEY, '-abs', '-o', out], data);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/qbuild: keys: refused to sign: no ticket for sha256:/);
    expect(existsSync(out)).toBe(false);

    expect((await ticket([Buffer.from('some other bytes')])).code).toBe(0);
    const other = await sign(['-u', KEY, '-abs', '-o', out], data);
    expect(other.code).toBe(2);
    expect(existsSync(out)).toBe(false);

    // A ticket naming build-debian goes (by policy) to keys-debian, never to keys-fedora...
    expect((await ticket([data], { vm: 'build-debian' })).code).not.toBe(0); // keys-debian has no logs key provisioned
    // ...and build-debian cannot reach keys-fedora at all.
    const fromDebian = await run(wrapper, ['-u', KEY, '-abs', '-o', out], {
      env: { ...process.env, ...sim.env('build-debian'), QUBES_GPG_DOMAIN: 'keys-fedora' }, stdin: data,
    });
    expect(fromDebian.code).toBe(126);
    expect(existsSync(out)).toBe(false);

    // Long enough to reach the keys qube on a loaded machine; then wait until it has expired.
    const expiresAt = Date.now() + 6000;
    expect((await ticket([data], { expiresInMs: 6000 })).code).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));
    const expired = await sign(['-u', KEY, '-abs', '-o', out], data);
    expect(expired.code).toBe(2);
    expect(expired.stderr).toMatch(/expired at/);
    expect(existsSync(out)).toBe(false);

    const log = readFileSync(join(sim.stateDir('keys-fedora'), 'keys.log'), 'utf8');
    expect(log).toMatch(/qubes\.Gpg from=build-fedora refused refused to sign: no ticket/);
    expect(log).toMatch(/refused to sign: ticket for sha256:[0-9a-f]+ \(item-0\) expired/);
  });

  it('forbidden options are refused by qbuild sign before any call', async () => {
    for (const argv of [['--export-secret-keys'], ['-bsa', '--homedir', '/tmp'], ['--detach-si', '-a'], ['-bsa', '--status-fd', '01'], ['-bsa', '--command-fd', '0', '-', '--export-secret-keys'], ['-bsa', '--', 'a', 'b']]) {
      const r = await sign(argv, 'x');
      expect(r.code, JSON.stringify(argv)).toBe(1);
      expect(r.stderr).toMatch(/^qbuild: sign: refused: /);
    }
  });

  it('keys in the keys VM are 0600 files in a 0700 dir; list and export-public work there', async () => {
    const dir = join(sim.stateDir('keys-fedora'), 'keys');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const l = await sim.run('keys-fedora', ['role', 'keys', 'list']);
    expect(l.stdout.toString()).toMatch(/^EDB01B83EBBC363420D8801F19F142B8A03365F5 ed25519 /m);
    const e = await sim.run('keys-fedora', ['role', 'keys', 'export-public', 'rsa@test.invalid']);
    expect(e.stdout.toString()).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const missing = await sim.run('keys-fedora', ['role', 'keys', 'export-public', 'nobody@nowhere']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such key/);
  });

  it('lists and exports public keys through the sim', async () => {
    const l = await sign(['--list-keys']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stdout.toString()).toContain('Qbuild Test Ed25519 <ed25519@test.invalid>');
    const e = await sign(['--export', '-a', 'rsa@test.invalid']);
    expect(e.stdout.toString()).toMatch(/BEGIN PGP PUBLIC KEY BLOCK/);
  });
});
