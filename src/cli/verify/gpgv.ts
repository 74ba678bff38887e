import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * OpenPGP signature checks with GnuPG's own verifier, gpgv, against exactly one given public
 * key (what apt and rpm-ostree do): no keyring of the auditor's is consulted, no trust model.
 */
export interface GpgvResult {
  ok: boolean;
  /** Fingerprint of the primary key whose (sub)key made a good signature (VALIDSIG). */
  fingerprint?: string;
  why: string;
  /** For an inline or cleartext signature: the signed content, as gpgv output it. */
  signed?: Buffer;
}

/**
 * Verifies `signature` over `data` (a detached signature), or an inline/cleartext-signed
 * `signature` when `data` is undefined. Rule: good only when gpgv exits 0 and reports
 * VALIDSIG for a key in `armoredKey`.
 */
export function gpgvVerify(armoredKey: string, signature: Buffer, data?: Buffer): GpgvResult {
  const dir = mkdtempSync(join(tmpdir(), 'qbuild-verify-'));
  try {
    writeFileSync(join(dir, 'key.asc'), armoredKey);
    const dearmor = spawnSync('gpg', ['--batch', '--homedir', dir, '--dearmor', '--output', join(dir, 'key.gpg'), join(dir, 'key.asc')]);
    if (dearmor.error) return { ok: false, why: `cannot run gpg: ${dearmor.error.message}` };
    if (dearmor.status !== 0) return { ok: false, why: 'the key file is not an armored OpenPGP key' };
    writeFileSync(join(dir, 'sig'), signature);
    const args = ['--homedir', dir, '--keyring', join(dir, 'key.gpg'), '--status-fd', '1'];
    if (!data) args.push('--output', join(dir, 'out'));
    args.push(join(dir, 'sig'));
    if (data) {
      writeFileSync(join(dir, 'data'), data);
      args.push(join(dir, 'data'));
    }
    const r = spawnSync('gpgv', args, { maxBuffer: 1 << 30 });
    if (r.error) return { ok: false, why: `cannot run gpgv: ${r.error.message}` };
    const status = r.stdout.toString('latin1');
    const valid = /^\[GNUPG:\] VALIDSIG (?:\S+ ){9}([0-9A-F]{40,64})$/m.exec(status) ?? /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40,64})/m.exec(status);
    if (r.status === 0 && valid) {
      return { ok: true, fingerprint: valid[1], why: 'good signature', ...(data ? {} : { signed: readFileSync(join(dir, 'out')) }) };
    }
    if (/^\[GNUPG:\] BADSIG/m.test(status)) return { ok: false, why: 'BAD signature' };
    if (/^\[GNUPG:\] (NO_PUBKEY|ERRSIG)/m.test(status)) return { ok: false, why: 'not signed by the given key' };
    if (/^\[GNUPG:\] NODATA/m.test(status)) return { ok: false, why: 'no signature found' };
    return { ok: false, why: `gpgv exit ${r.status}: ${r.stderr.toString('utf8').trim().split('\n').pop() ?? ''}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
