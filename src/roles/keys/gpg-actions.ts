import type { GpgRequest } from '../../protocol/splitgpg/options.js';
import { failureStatus, noSecretKeyStatus, signingStatus } from '../../protocol/splitgpg/status.js';
import { QbuildError } from '../../errors.js';
import type { KeyStore } from './keystore.js';
import { algorithmName, type StoredKey } from './stored-key.js';
import { HASH_ID } from './pgp/packets.js';
import { armor } from '../../protocol/pgp/armor.js';

/** What one request produced: bytes for stdout, status lines, log (stderr) text, exit code. */
export interface GpgOutcome {
  stdout: Buffer;
  status: string;
  log: string;
  exit: number;
}

export const fail = (log: string, status = '', exit = 2): GpgOutcome => ({ stdout: Buffer.alloc(0), status, log, exit });

/** Resolves the signing key: the last `-u` given (gpg would sign with each; we refuse that). */
export function pickKey(store: KeyStore, req: GpgRequest, defaultKey: string | undefined): { key: StoredKey } | { outcome: GpgOutcome } {
  const specs = [...new Set(req.localUsers)];
  if (specs.length > 1) return { outcome: fail('qbuild: keys: one signing key per request, please (several -u given)\n', failureStatus('sign', 1)) };
  const spec = specs[0];
  let key: StoredKey | undefined;
  try {
    key = store.find(spec, defaultKey);
  } catch (e) {
    if (e instanceof QbuildError) return { outcome: fail(`gpg: skipped "${spec}": ${e.message}\n`, noSecretKeyStatus(spec ?? '')) };
    throw e;
  }
  if (!key) {
    if (spec === undefined) return { outcome: fail('gpg: no default secret key: No secret key\n', failureStatus('sign', 17)) };
    return { outcome: fail(`gpg: skipped "${spec}": No secret key\ngpg: signing failed: No secret key\n`, noSecretKeyStatus(spec)) };
  }
  return { key };
}

/** --detach-sign, --sign, --clearsign over `data` with `key` (node:crypto only). */
export async function signRequest(req: GpgRequest, key: StoredKey, data: Buffer): Promise<GpgOutcome> {
  const { signData } = await import('./signer.js');
  const hash = req.digestAlgo ?? 'SHA256';
  const created = Math.floor(Date.now() / 1000);
  const mode = req.action === 'clearsign' ? 'clear' : req.action === 'detach-sign' ? 'detach' : 'inline';
  const r = signData(key, data, { mode, armor: req.armor, textmode: req.textmode, hash, created });
  const status = signingStatus(key.fingerprint, {
    type: r.statusType, pkAlgo: key.signer.algorithm, hashAlgo: HASH_ID[hash], sigClass: r.sigType, created, fingerprint: key.signer.fingerprint,
  });
  return { stdout: r.output, status, log: '', exit: 0 };
}

const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);

function keyIdText(keyId: string, format: GpgRequest['keyidFormat']): string {
  switch (format) {
    case 'short': return keyId.slice(8);
    case '0xshort': return `0x${keyId.slice(8)}`;
    case 'long': return keyId;
    case '0xlong': return `0x${keyId}`;
    default: return '';
  }
}

function matching(store: KeyStore, req: GpgRequest): StoredKey[] | GpgOutcome {
  const specs = req.operands.filter((o) => o !== '-');
  if (specs.length === 0) return store.list();
  const out: StoredKey[] = [];
  for (const s of specs) {
    let k: StoredKey | undefined;
    try { k = store.find(s); } catch { k = undefined; }
    if (!k) return fail(`gpg: error reading key: No public key\n`, '', 2);
    if (!out.includes(k)) out.push(k);
  }
  return out;
}

/** --list-keys / --list-secret-keys, human or --with-colons, public information only. */
export function listRequest(store: KeyStore, req: GpgRequest): GpgOutcome {
  const keys = matching(store, req);
  if (!Array.isArray(keys)) return keys;
  const secret = req.action === 'list-secret-keys';
  let out = '';
  for (const k of keys) {
    const sub = k.signer.fingerprint !== k.fingerprint;
    if (req.withColons) {
      out += `${secret ? 'sec' : 'pub'}:u:${k.bits}:${k.algorithm}:${k.keyId}:${k.created}:::u:::${sub ? 'cC' : 'scSC'}:::${secret ? '+' : ''}::${k.algorithm === 22 ? 'ed25519' : ''}:::0:\n`;
      out += `fpr:::::::::${k.fingerprint}:\n`;
      for (const u of k.userIds) out += `uid:u::::${k.created}::::${u.replace(/:/g, '\\x3a')}::::::::::0:\n`;
      if (sub) {
        out += `${secret ? 'ssb' : 'sub'}:u:${k.bits}:${k.signer.algorithm}:${k.signer.keyId}:${k.signer.created}:::::s:::${secret ? '+' : ''}::${k.signer.algorithm === 22 ? 'ed25519' : ''}::\n`;
        out += `fpr:::::::::${k.signer.fingerprint}:\n`;
      }
    } else {
      const kid = keyIdText(k.keyId, req.keyidFormat);
      out += `${secret ? 'sec' : 'pub'}   ${algorithmName(k)}${kid ? '/' + kid : ''} ${day(k.created)} [${sub ? 'C' : 'SC'}]\n      ${k.fingerprint}\n`;
      for (const u of k.userIds) out += `uid           [ultimate] ${u}\n`;
      if (sub) out += `${secret ? 'ssb' : 'sub'}   ${algorithmName(k)} ${day(k.signer.created)} [S]\n`;
      out += '\n';
    }
  }
  return { stdout: Buffer.from(out), status: '', log: '', exit: 0 };
}

/** --export: the public keys only (never a secret), armored with -a. */
export function exportRequest(store: KeyStore, req: GpgRequest): GpgOutcome {
  const keys = matching(store, req);
  if (!Array.isArray(keys)) return keys;
  if (keys.length === 0) return { stdout: Buffer.alloc(0), status: '', log: 'gpg: WARNING: nothing exported\n', exit: 0 };
  const bin = Buffer.concat(keys.map((k) => Buffer.from(k.publicKey, 'base64')));
  return { stdout: req.armor ? Buffer.from(armor('PGP PUBLIC KEY BLOCK', bin)) : bin, status: '', log: '', exit: 0 };
}
