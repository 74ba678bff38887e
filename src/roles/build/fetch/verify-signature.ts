import type { PublicKey, Subkey } from 'openpgp';
import { oneLine } from '../../../errors.js';
import type { MaintainerKey } from './maintainer-keys.js';

export type SignatureVerdict =
  | { ok: true; maintainer: MaintainerKey; /** fingerprint of the key that signed (primary or subkey) */ signingKey: string; created: Date }
  | { ok: false; reason: string };

/**
 * The verdict on one tag's signature block over `payload`. Rules, in order:
 * - the block holds exactly ONE OpenPGP signature packet (upstream counts a block with two
 *   signatures as invalid; each maintainer signs a tag of their own);
 * - a v4 signature of type binary or text;
 * - its issuer (key ID, and the issuer fingerprint when the packet carries one) is the primary
 *   key or a subkey of a maintainer of this component; anyone else's key does not count;
 * - that key is valid for signing NOW: not revoked, not expired (as git verify-tag, which
 *   refuses a good signature by an expired key);
 * - the signature verifies over exactly `payload`; a mismatch means the tag was altered.
 */
export async function verifyTagSignature(payload: Buffer, armored: string, keys: MaintainerKey[], now: Date): Promise<SignatureVerdict> {
  const openpgp = await import('openpgp');
  let signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: armored });
  } catch (e) {
    return { ok: false, reason: `unreadable signature block (${oneLine(e)})` };
  }
  const packets = [...signature.packets];
  if (packets.length !== 1) return { ok: false, reason: `${packets.length} signatures in one block (exactly one per tag counts)` };
  const pkt = packets[0]!;
  if (pkt.version !== 4) return { ok: false, reason: `v${pkt.version} signature (only v4 counts)` };
  if (pkt.signatureType !== openpgp.enums.signature.binary && pkt.signatureType !== openpgp.enums.signature.text) {
    return { ok: false, reason: `signature of type 0x${(pkt.signatureType ?? 0).toString(16)} is not a document signature` };
  }
  const issuerFpr = pkt.issuerFingerprint ? Buffer.from(pkt.issuerFingerprint).toString('hex').toUpperCase() : undefined;
  const issuer = issuerFpr ?? pkt.issuerKeyID.toHex().toUpperCase();

  const match = findIssuer(keys, pkt.issuerKeyID.toHex(), issuerFpr);
  if (!match) return { ok: false, reason: `signed by key ${issuer}, not a maintainer of this component` };
  const { maintainer, signer } = match;
  const signerFpr = signer.getFingerprint().toUpperCase();

  const unusable = await keyProblem(maintainer.key, signer, now);
  if (unusable) return { ok: false, reason: `signed by maintainer ${maintainer.fingerprint} with a key that is ${unusable}` };

  try {
    const message = await openpgp.createMessage({ binary: payload });
    const result = await openpgp.verify({ message, signature, verificationKeys: maintainer.key, date: now, format: 'binary' });
    await result.signatures[0]!.verified;
  } catch (e) {
    const why = oneLine(e);
    if (/digest did not match|signature verification failed|signature is invalid/i.test(why)) {
      return { ok: false, reason: `BAD signature by maintainer ${maintainer.fingerprint}: it does not cover this tag's bytes (tampered tag)` };
    }
    return { ok: false, reason: `signature by maintainer ${maintainer.fingerprint} does not verify (${why})` };
  }
  return { ok: true, maintainer, signingKey: signerFpr, created: pkt.created ?? now };
}

/** The maintainer key (primary or subkey) a signature names, matched by key ID and, if given, full fingerprint. */
function findIssuer(keys: MaintainerKey[], keyId: string, fpr: string | undefined): { maintainer: MaintainerKey; signer: PublicKey | Subkey } | undefined {
  for (const maintainer of keys) {
    for (const signer of [maintainer.key, ...maintainer.key.getSubkeys()] as (PublicKey | Subkey)[]) {
      if (signer.getKeyID().toHex() !== keyId) continue;
      if (fpr && signer.getFingerprint().toUpperCase() !== fpr) continue;
      return { maintainer, signer };
    }
  }
  return undefined;
}

/** Why the key cannot sign now ("revoked", "expired since …"), or undefined when it can. */
async function keyProblem(primary: PublicKey, signer: PublicKey | Subkey, now: Date): Promise<string | undefined> {
  try {
    await primary.getSigningKey(signer.getKeyID(), now);
    return undefined;
  } catch (e) {
    if (await primary.isRevoked(undefined, undefined, now).catch(() => false)) return 'revoked';
    const expires = await primary.getExpirationTime().catch(() => null);
    if (expires instanceof Date && expires.getTime() <= now.getTime()) return `expired since ${expires.toISOString()}`;
    const msg = oneLine(e);
    if (/revoked/i.test(msg)) return 'revoked';
    if (/expired/i.test(msg)) return 'expired';
    return `not valid for signing (${msg})`;
  }
}
