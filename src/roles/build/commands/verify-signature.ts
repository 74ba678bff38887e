import { oneLine, QbuildError } from '../../../errors.js';
import type { CanonicalCommand } from '../../../protocol/github/command/canonical.js';

/** How far in the future a signature's creation time may lie (clock skew; upstream sqv uses `--not-after tomorrow`). */
export const SIGNATURE_MAX_AHEAD_MS = 5 * 60 * 1000;

export type SignatureVerdict = { ok: true; signer: string; created: Date } | { ok: false; reason: string };

type OpenPgp = typeof import('openpgp');
type PublicKey = Awaited<ReturnType<OpenPgp['readKeys']>>[number];

/** The trusted command keys (armored, as provisioned): read once per call; unreadable keys are a config error. */
export async function readCommandKeys(armored: string | null): Promise<PublicKey[]> {
  if (!armored) return [];
  const openpgp = await import('openpgp');
  try {
    return await openpgp.readKeys({ armoredKeys: armored });
  } catch (e) {
    throw new QbuildError('config', `build.commandsPublicKeys: not readable as OpenPGP public keys: ${oneLine(e)}`);
  }
}

/**
 * Verifies the canonical command's one signature packet over its line. Rules:
 * - the issuer must be a key (or subkey) of one of the trusted command keys;
 * - the signature must verify over the line as OpenPGP text (trailing whitespace of the line
 *   is not part of what is signed, RFC 4880 §7.1: GitHub's stripping does not matter);
 * - its creation time is at most SIGNATURE_MAX_AHEAD_MS after `now`;
 * - the signing key was valid (not expired, not revoked) at the signature's creation time,
 *   and the primary key is not revoked now.
 * The signer is the trusted primary key's fingerprint (upper case).
 */
export async function verifyCommandSignature(c: CanonicalCommand, keys: readonly PublicKey[], now: Date): Promise<SignatureVerdict> {
  if (keys.length === 0) return { ok: false, reason: 'no command keys are configured (pillar commands_public_keys)' };
  const openpgp = await import('openpgp');
  let signature;
  try {
    signature = await openpgp.readSignature({ binarySignature: c.packet });
  } catch (e) {
    return { ok: false, reason: `unreadable signature: ${oneLine(e)}` };
  }
  const packet = signature.packets[0]!;
  const issuer = packet.issuerKeyID;
  const key = keys.find((k) => k.getKeys(issuer).length > 0);
  if (!key) return { ok: false, reason: `signed by key ${issuer.toHex().toUpperCase()}, which is not a trusted command key` };
  const signer = key.getFingerprint().toUpperCase();
  const created = packet.created;
  if (!created) return { ok: false, reason: 'the signature has no creation time' };
  if (created.getTime() > now.getTime() + SIGNATURE_MAX_AHEAD_MS) {
    return { ok: false, reason: `signature made in the future (${created.toISOString()}) by ${signer}` };
  }
  try {
    // The line has no trailing whitespace and no line break (grammar.ts), so as a text message
    // it is byte for byte the clearsigned text's canonical form.
    const message = await openpgp.createMessage({ text: c.line });
    const result = await openpgp.verify({ message, signature, verificationKeys: [key], date: new Date(now.getTime() + SIGNATURE_MAX_AHEAD_MS), expectSigned: true });
    await result.signatures[0]!.verified;
  } catch (e) {
    return { ok: false, reason: `bad signature by ${signer}: ${oneLine(e)}` };
  }
  if (await key.isRevoked(undefined, undefined, now)) return { ok: false, reason: `key ${signer} is revoked` };
  return { ok: true, signer, created };
}
