import { createPrivateKey, type JsonWebKey as NodeJwk } from 'node:crypto';
import { QbuildError } from '../../errors.js';
import type { StoredKey } from './stored-key.js';

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const toBig = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
const fromBig = (n: bigint) => {
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex');
};
function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) { const q = r0 / r1; [r0, r1] = [r1, r0 - q * r1]; [s0, s1] = [s1, s0 - q * s1]; }
  return ((s0 % m) + m) % m;
}

/**
 * Turns an armored secret key (exported by GnuPG or made by openpgp.js) into a StoredKey.
 * Rules: a v4 key whose signing (sub)key is RSA (1) or legacy EdDSA Ed25519 (22) — what
 * GnuPG 2.2 verifies; the secret part must be unprotected or unlocked with `passphrase`;
 * the key must be able to sign now. Uses openpgp.js (import is rare; signing never loads it).
 */
export async function importArmoredSecretKey(armored: string, passphrase?: string): Promise<StoredKey> {
  const openpgp = await import('openpgp');
  let key;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (e) {
    throw new QbuildError('bad-input', `not an armored OpenPGP secret key: ${(e as Error).message}`);
  }
  if (key.keyPacket.version !== 4) throw new QbuildError('bad-input', `v${key.keyPacket.version} keys are refused: GnuPG 2.2 cannot verify them; use a v4 Ed25519 (ed25519Legacy) or RSA key`);
  if (!key.isDecrypted()) {
    if (passphrase === undefined) throw new QbuildError('bad-input', 'the secret key is passphrase-protected: give --passphrase-file');
    key = await openpgp.decryptKey({ privateKey: key, passphrase });
  }
  let signing;
  try {
    signing = await key.getSigningKey();
  } catch (e) {
    throw new QbuildError('bad-input', `the key cannot sign: ${(e as Error).message}`);
  }
  const packet = signing.keyPacket as unknown as {
    version: number; algorithm: number; created: Date;
    publicParams: Record<string, Uint8Array | { toHex?: () => string }>;
    privateParams: Record<string, Uint8Array> | null;
    getFingerprint(): string; getKeyID(): { toHex(): string };
  };
  if (!packet.privateParams) throw new QbuildError('bad-input', 'the signing key has no secret part (a stub?)');
  const p = packet.privateParams;
  let jwk: JsonWebKey;
  let bits: number;
  if (packet.algorithm === 22) {
    const oid = Buffer.from((packet.publicParams.oid as unknown as { write(): Uint8Array }).write()).toString('hex');
    // OID 1.3.6.1.4.1.11591.15.1 (Ed25519), written with its length byte.
    if (oid !== '092b06010401da470f01') throw new QbuildError('bad-input', 'only the Ed25519 curve is accepted for EdDSA keys');
    const q = packet.publicParams.Q as Uint8Array;
    jwk = { kty: 'OKP', crv: 'Ed25519', x: b64url(q.subarray(1)), d: b64url(p.seed!) };
    bits = 255;
  } else if (packet.algorithm === 1) {
    const n = toBig(packet.publicParams.n as Uint8Array);
    const e = toBig(packet.publicParams.e as Uint8Array);
    const d = toBig(p.d!); const pp = toBig(p.p!); const q = toBig(p.q!);
    if (pp * q !== n) throw new QbuildError('bad-input', 'RSA key parameters are inconsistent');
    bits = (packet.publicParams.n as Uint8Array).length * 8;
    if (bits < 2048) throw new QbuildError('bad-input', `RSA keys below 2048 bits are refused (${bits})`);
    jwk = {
      kty: 'RSA', n: b64url(fromBig(n)), e: b64url(fromBig(e)), d: b64url(fromBig(d)),
      p: b64url(fromBig(pp)), q: b64url(fromBig(q)),
      dp: b64url(fromBig(d % (pp - 1n))), dq: b64url(fromBig(d % (q - 1n))), qi: b64url(fromBig(modInverse(q, pp))),
    };
  } else {
    throw new QbuildError('bad-input', `public-key algorithm ${packet.algorithm} is refused: use Ed25519 (legacy EdDSA) or RSA`);
  }
  // Prove the converted key works before storing it.
  createPrivateKey({ key: jwk as NodeJwk, format: 'jwk' });
  const primary = key.keyPacket as unknown as { created: Date; algorithm: number };
  const users = key.getUserIDs();
  return {
    format: 'qbuild-key-1',
    fingerprint: key.getFingerprint().toUpperCase(),
    keyId: key.getKeyID().toHex().toUpperCase(),
    created: Math.floor(primary.created.getTime() / 1000),
    algorithm: primary.algorithm,
    bits,
    userIds: users,
    publicKey: Buffer.from(key.toPublic().write()).toString('base64'),
    signer: {
      fingerprint: packet.getFingerprint().toUpperCase(),
      keyId: packet.getKeyID().toHex().toUpperCase(),
      created: Math.floor(packet.created.getTime() / 1000),
      algorithm: packet.algorithm,
      jwk,
    },
  };
}
