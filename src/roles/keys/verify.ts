import type { GpgRequest } from '../../protocol/splitgpg/options.js';
import { badSigStatus, goodSigStatus, noPubkeyStatus } from '../../protocol/splitgpg/status.js';
import type { KeyStore } from './keystore.js';
import type { GpgOutcome } from './gpg-actions.js';

/**
 * --verify of a detached signature against the stored public keys (openpgp.js, loaded only
 * here). Exit 0 good, 1 bad signature, 2 no public key or unreadable signature, as gpg.
 */
export async function verifyRequest(store: KeyStore, _req: GpgRequest, data: Buffer, sigBytes: Buffer): Promise<GpgOutcome> {
  const openpgp = await import('openpgp');
  const text = sigBytes.toString('latin1');
  let signature;
  try {
    signature = text.includes('-----BEGIN PGP SIGNATURE-----')
      ? await openpgp.readSignature({ armoredSignature: text })
      : await openpgp.readSignature({ binarySignature: sigBytes });
  } catch (e) {
    return { stdout: Buffer.alloc(0), status: '[GNUPG:] NODATA 3\n', log: `gpg: verify signatures failed: ${(e as Error).message}\n`, exit: 2 };
  }
  const pkt = signature.packets[0] as unknown as {
    issuerKeyID: { toHex(): string }; publicKeyAlgorithm: number; hashAlgorithm: number; signatureType: number; created: Date;
  };
  const created = Math.floor(pkt.created.getTime() / 1000);
  const keyId = pkt.issuerKeyID.toHex().toUpperCase();
  const stored = store.list().find((k) => k.signer.keyId === keyId || k.keyId === keyId);
  if (!stored) {
    return {
      stdout: Buffer.alloc(0), status: noPubkeyStatus(keyId, pkt.publicKeyAlgorithm, pkt.hashAlgorithm, pkt.signatureType, created),
      log: `gpg: Signature made ${pkt.created.toUTCString()}\ngpg:                using key ${keyId}\ngpg: Can't check signature: No public key\n`, exit: 2,
    };
  }
  const publicKey = await openpgp.readKey({ binaryKey: Buffer.from(stored.publicKey, 'base64') });
  const message = await openpgp.createMessage({ binary: data });
  let good = false;
  try {
    const r = await openpgp.verify({ message, signature, verificationKeys: publicKey, format: 'binary' });
    await r.signatures[0]!.verified;
    good = true;
  } catch {
    good = false;
  }
  const uid = stored.userIds[0] ?? '';
  const made = `gpg: Signature made ${pkt.created.toUTCString()}\ngpg:                using key ${stored.signer.fingerprint}\n`;
  if (!good) return { stdout: Buffer.alloc(0), status: badSigStatus(keyId, uid), log: `${made}gpg: BAD signature from "${uid}"\n`, exit: 1 };
  return {
    stdout: Buffer.alloc(0),
    status: goodSigStatus({
      keyId, userId: uid, signerFingerprint: stored.signer.fingerprint, primaryFingerprint: stored.fingerprint,
      created, pkAlgo: pkt.publicKeyAlgorithm, hashAlgo: pkt.hashAlgorithm, sigClass: pkt.signatureType,
    }),
    log: `${made}gpg: Good signature from "${uid}" [ultimate]\n`,
    exit: 0,
  };
}
