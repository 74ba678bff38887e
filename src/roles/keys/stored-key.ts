/**
 * A signing key as the keys VM stores it: one JSON file per key, mode 0600, in
 * `<state>/keys/`. It holds what signing needs without openpgp.js (the signing (sub)key as a
 * JWK for node:crypto) and what listing/export need (user IDs, the public key packets).
 */
export interface StoredKey {
  format: 'qbuild-key-1';
  /** Primary key fingerprint, 40 upper-case hex digits. */
  fingerprint: string;
  keyId: string;
  created: number;
  algorithm: number;
  bits: number;
  userIds: string[];
  /** Transferable public key, binary, base64. */
  publicKey: string;
  signer: {
    fingerprint: string;
    keyId: string;
    created: number;
    algorithm: number;
    jwk: JsonWebKey;
  };
}

/** Rule for every stored file: the fields exist with the right types, or the file is refused. */
export function checkStoredKey(raw: unknown, where: string): StoredKey {
  const k = raw as StoredKey;
  const hex = (s: unknown, n: number) => typeof s === 'string' && new RegExp(`^[0-9A-F]{${n}}$`).test(s);
  if (!k || k.format !== 'qbuild-key-1' || !hex(k.fingerprint, 40) || !hex(k.keyId, 16) || !Array.isArray(k.userIds)
    || typeof k.publicKey !== 'string' || !k.signer || !hex(k.signer.fingerprint, 40) || !hex(k.signer.keyId, 16)
    || (k.signer.algorithm !== 1 && k.signer.algorithm !== 22) || typeof k.signer.jwk !== 'object') {
    throw new Error(`${where}: not a qbuild key file`);
  }
  return k;
}

/** How listings name a key's (primary) algorithm: `ed25519` or `rsa<bits>`. */
export function algorithmName(k: StoredKey): string {
  return k.algorithm === 22 ? 'ed25519' : `rsa${k.bits}`;
}
