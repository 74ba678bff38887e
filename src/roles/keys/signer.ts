import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { StoredKey } from './stored-key.js';
import { armor } from '../../protocol/pgp/armor.js';
import {
  type HashName, SIG_BINARY, SIG_TEXT, literalPacket, mpi, onePassPacket, signatureHashedPart, signaturePacket,
} from './pgp/packets.js';
import { clearsignBody } from './pgp/text.js';
import { signedBytes } from '../../protocol/signform.js';

export type SignMode = 'detach' | 'inline' | 'clear';

export interface SignOptions {
  mode: SignMode;
  armor: boolean;
  textmode: boolean;
  hash: HashName;
  /** Signature creation time (unix seconds). */
  created: number;
}

export interface SignResult {
  output: Buffer;
  sigType: number;
  /** GnuPG's SIG_CREATED type letter: D detached, S standard (inline), C cleartext. */
  statusType: 'D' | 'S' | 'C';
}

const NODE_HASH: Record<HashName, string> = { SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

/** A v4 signature packet over `signed` (already canonicalised), made with node:crypto only. */
export function signaturePacketFor(key: StoredKey, privateKey: KeyObject, signed: Buffer, sigType: number, hash: HashName, created: number): Buffer {
  const fingerprint = Buffer.from(key.signer.fingerprint, 'hex');
  const { hashed, trailer } = signatureHashedPart({ sigType, pkAlgo: key.signer.algorithm, hash, fingerprint, created });
  const digest = createHash(NODE_HASH[hash]).update(signed).update(hashed).update(trailer).digest();
  let mpis: Buffer[];
  if (key.signer.algorithm === 22) {
    // Legacy EdDSA signs the hash value itself; the signature is r ‖ s, 32 bytes each.
    const sig = cryptoSign(null, digest, privateKey);
    mpis = [mpi(sig.subarray(0, 32)), mpi(sig.subarray(32))];
  } else {
    const sig = cryptoSign(NODE_HASH[hash], Buffer.concat([signed, hashed, trailer]), privateKey);
    mpis = [mpi(sig)];
  }
  return signaturePacket(hashed, Buffer.from(key.signer.keyId, 'hex'), digest, mpis);
}

export function privateKeyOf(key: StoredKey): KeyObject {
  return createPrivateKey({ key: key.signer.jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
}

/**
 * Makes what gpg would write for --detach-sign, --sign or --clearsign over `data`. The
 * signature hashes signedBytes(form, data), exactly what GnuPG 2.2 hashes when it verifies;
 * an inline text signature carries those bytes in its literal packet, as gpg -s -t does.
 */
export function signData(key: StoredKey, data: Buffer, o: SignOptions): SignResult {
  const priv = privateKeyOf(key);
  if (o.mode === 'clear') {
    const packet = signaturePacketFor(key, priv, signedBytes('clearsign', data), SIG_TEXT, o.hash, o.created);
    const text = Buffer.concat([
      Buffer.from(`-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${o.hash}\n\n`),
      clearsignBody(data),
      Buffer.from(armor('PGP SIGNATURE', packet)),
    ]);
    return { output: text, sigType: SIG_TEXT, statusType: 'C' };
  }
  const sigType = o.textmode ? SIG_TEXT : SIG_BINARY;
  const signed = signedBytes(o.textmode ? 'text' : 'binary', data);
  const packet = signaturePacketFor(key, priv, signed, sigType, o.hash, o.created);
  if (o.mode === 'detach') {
    return { output: o.armor ? Buffer.from(armor('PGP SIGNATURE', packet)) : packet, sigType, statusType: 'D' };
  }
  const message = Buffer.concat([
    onePassPacket(sigType, o.hash, key.signer.algorithm, Buffer.from(key.signer.keyId, 'hex')),
    literalPacket(signed, o.textmode, o.created),
    packet,
  ]);
  return { output: o.armor ? Buffer.from(armor('PGP MESSAGE', message)) : message, sigType, statusType: 'S' };
}
