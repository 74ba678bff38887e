import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../src/protocol/note/note.js';
import { qbuildBin } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';
import { GpgHome } from '../../helpers/gpg.js';

let tmp: string;
let env: NodeJS.ProcessEnv;
const qb = (args: string[], stdin = '') => run(qbuildBin(), ['role', 'logs', ...args], { env, stdin });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'qbuild-logs-cli-'));
  writeFileSync(join(tmp, 'qbuild.json'), JSON.stringify({ vm: 'logs', role: 'logs', logs: { buildVms: ['build-a'], keysVmFor: { 'build-a': 'keys-a' }, remote: null } }));
  env = { PATH: process.env.PATH, HOME: tmp, QBUILD_CONFIG: join(tmp, 'qbuild.json'), QBUILD_STATE: join(tmp, 'state') };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A GnuPG-made Ed25519 secret key, armored; `protect` gives it a passphrase. */
function gpgKey(protect: boolean): { armored: string; fpr: string } {
  const home = new GpgHome();
  try {
    const passphrase = protect ? 'secret' : '';
    const fpr = home.generateKey('Logs Test <logs@test.invalid>', passphrase);
    return { armored: home.gpgSync(['--armor', '--export-secret-keys', fpr], { passphrase }), fpr };
  } finally {
    home.cleanup();
  }
}

describe('qbuild role logs (commands)', () => {
  it('init creates the store, its git repo and keys, idempotently', async () => {
    const r = await qb(['init']);
    expect(r.code, r.stderr).toBe(0);
    const vk = /ticket verifier key: (\S+)/.exec(r.stdout.toString())![1]!;
    expect(parseVerifierKey(vk).name).toBe('qbuild-logs/logs');
    expect(statSync(join(tmp, 'state', 'store', '.git', 'HEAD')).isFile()).toBe(true);
    expect(statSync(join(tmp, 'state', 'note.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp, 'state', 'pgp-secret.asc')).mode & 0o777).toBe(0o600);
    const again = await qb(['init']);
    expect(again.stdout.toString()).toContain(vk);
    expect((await qb(['verifier-key'])).stdout.toString().trim()).toBe(vk);
  });

  it('imports a GnuPG key for commit signing and refuses a protected one', async () => {
    const k = await gpgKey(false);
    const r = await qb(['import-key', '-'], k.armored);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe(`commit signing key: ${k.fpr}\n`);
    expect(readFileSync(join(tmp, 'state', 'pgp-secret.asc'), 'utf8')).toBe(k.armored);
    const p = await gpgKey(true);
    const bad = await qb(['import-key', '-'], p.armored);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^qbuild: logs: .*passphrase-protected/);
    expect(readFileSync(join(tmp, 'state', 'pgp-secret.asc'), 'utf8')).toBe(k.armored);
  }, 30_000);

  it('status names pending work and the keys', async () => {
    const r = await qb(['status']);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.toString();
    expect(out).toContain('pending pushes: 0\n');
    expect(out).toContain('pending tickets: 0\n');
    expect(out).toContain('last ticket: (none)\n');
    expect(out).toContain('refused tickets: 0\n');
    expect(out).toContain('ledger: (no checkpoint yet)\n');
    expect(out).toMatch(/commit signing key: [0-9A-F]{40}\n/);
  });

  it('explains its usage', async () => {
    const r = await qb(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('qbuild: logs: unknown command "frobnicate" (see qbuild role logs help)\n');
  });
});
