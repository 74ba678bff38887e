import { createHash, createPublicKey, verify as cryptoVerify, constants, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { GpgRequest } from '../../protocol/splitgpg/options.js';
import { badSigStatus, goodSigStatus, noPubkeyStatus } from '../../protocol/splitgpg/status.js';
import { signedBytes } from '../../protocol/signform.js';
import type { KeyStore } from './keystore.js';
import type { StoredKey } from './stored-key.js';
import type { GpgOutcome } from './gpg-actions.js';
import { VERIFY_HASHES, readDetachedSignature, type ReadSignature } from './pgp/read-signature.js';

const outcome = (status: string, log: string, exit: number): GpgOutcome => ({ stdout: Buffer.alloc(0), status, log, exit });
const hex2 = (n: number) => n.toString(16).padStart(2, '0');
const madeLine = (created: number) => `gpg: Signature made ${new Date(created * 1000).toUTCString()}\n`;

/** The stored key that made `sig`: by issuer fingerprint, else by key ID (signing subkey or primary). */
function issuerOf(store: KeyStore, sig: ReadSignature): StoredKey | undefined {
  const keys = store.list();
  if (sig.issuerFingerprint) {
    const k = keys.find((x) => x.signer.fingerprint === sig.issuerFingerprint || x.fingerprint === sig.issuerFingerprint);
    if (k) return k;
  }
  const id = sig.issuerKeyId ?? sig.issuerFingerprint?.slice(24);
  return id ? keys.find((x) => x.signer.keyId === id || x.keyId === id) : undefined;
}

/** The signing key's public half, from the public members of its JWK only. */
function publicKeyOf(k: StoredKey): KeyObject {
  const j = k.signer.jwk;
  const pub: JsonWebKey = j.kty === 'RSA' ? { kty: 'RSA', n: j.n, e: j.e } : { kty: j.kty, crv: j.crv, x: j.x };
  return createPublicKey({ key: pub, format: 'jwk' });
}

const pad = (b: Buffer, n: number) => (b.length >= n ? b : Buffer.concat([Buffer.alloc(n - b.length), b]));

/**
 * Whether `sig` is a valid signature of `data` by `key`. The data is hashed in the form the
 * signature class names (0x01: GnuPG's text form), exactly as gpg does; the two quick-check
 * bytes must match; then the EdDSA (r ‖ s over the digest) or RSA PKCS#1 v1.5 check.
 */
function checks(sig: ReadSignature, key: StoredKey, data: Buffer): boolean {
  if (sig.pkAlgo !== key.signer.algorithm) return false;
  const hashName = VERIFY_HASHES[sig.hashAlgo]!;
  const signed = signedBytes(sig.sigType === 0x01 ? 'text' : 'binary', data);
  const trailer = Buffer.alloc(6);
  trailer[0] = 4; trailer[1] = 0xff; trailer.writeUInt32BE(sig.hashedPart.length, 2);
  const digest = createHash(hashName).update(signed).update(sig.hashedPart).update(trailer).digest();
  if (!digest.subarray(0, 2).equals(sig.left16)) return false;
  const pub = publicKeyOf(key);
  if (sig.pkAlgo === 22) {
    const [r, s] = sig.mpis as [Buffer, Buffer];
    if (r.length > 32 || s.length > 32) return false;
    return cryptoVerify(null, digest, pub, Buffer.concat([pad(r, 32), pad(s, 32)]));
  }
  const modulusBytes = Math.ceil((pub.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const value = sig.mpis[0]!;
  if (value.length > modulusBytes) return false;
  return cryptoVerify(hashName, Buffer.concat([signed, sig.hashedPart, trailer]), { key: pub, padding: constants.RSA_PKCS1_PADDING }, pad(value, modulusBytes));
}

/**
 * --verify of a detached signature against the stored public keys, answered as gpg does:
 * exit 0 and GOODSIG for a good signature, exit 1 and BADSIG for a bad one, exit 2 with
 * NODATA (nothing readable as a signature), ERRSIG (a signature we cannot check) or
 * NO_PUBKEY (unknown issuer). Every input, however malformed, gets one of these.
 */
export async function verifyRequest(store: KeyStore, _req: GpgRequest, data: Buffer, sigBytes: Buffer): Promise<GpgOutcome> {
  const read = readDetachedSignature(sigBytes);
  if (read.kind === 'nodata') {
    return outcome(`[GNUPG:] NODATA ${read.code}\n`, `gpg: verify signatures failed: ${read.why}\n`, 2);
  }
  if (read.kind === 'unsupported') {
    return outcome(
      `[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG ${read.keyId} ${read.pkAlgo} ${read.hashAlgo} ${hex2(read.sigType)} ${read.created} 4\n`,
      `${madeLine(read.created)}gpg:                using key ${read.keyId}\ngpg: Can't check signature: ${read.why}\n`, 2,
    );
  }
  const sig = read.sig;
  const keyId = sig.issuerKeyId ?? sig.issuerFingerprint?.slice(24) ?? '0000000000000000';
  const key = issuerOf(store, sig);
  if (!key) {
    return outcome(noPubkeyStatus(keyId, sig.pkAlgo, sig.hashAlgo, sig.sigType, sig.created),
      `${madeLine(sig.created)}gpg:                using key ${keyId}\ngpg: Can't check signature: No public key\n`, 2);
  }
  let good: boolean;
  try {
    good = checks(sig, key, data);
  } catch {
    // Fails closed: a text too long for GnuPG's text form, or a value node:crypto refuses.
    good = false;
  }
  const uid = key.userIds[0] ?? '';
  const made = `${madeLine(sig.created)}gpg:                using key ${key.signer.fingerprint}\n`;
  if (!good) return outcome(badSigStatus(keyId, uid), `${made}gpg: BAD signature from "${uid}"\n`, 1);
  return outcome(
    goodSigStatus({
      keyId, userId: uid, signerFingerprint: key.signer.fingerprint, primaryFingerprint: key.fingerprint,
      created: sig.created, pkAlgo: sig.pkAlgo, hashAlgo: sig.hashAlgo, sigClass: sig.sigType,
    }),
    `${made}gpg: Good signature from "${uid}" [ultimate]\n`, 0,
  );
}
