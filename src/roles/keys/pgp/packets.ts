/**
 * The few OpenPGP v4 packets the keys VM writes (RFC 4880): signature (tag 2), one-pass
 * signature (tag 4) and literal data (tag 11). Built by hand so that signing needs only
 * node:crypto, not the 90 ms it takes to load openpgp.js (design §2: start-up matters).
 */

export const HASH_ID = { SHA256: 8, SHA384: 9, SHA512: 10 } as const;
export type HashName = keyof typeof HASH_ID;

/** Signature types used here: binary document, canonical text document. */
export const SIG_BINARY = 0x00;
export const SIG_TEXT = 0x01;

/** Old-format packet header (what GnuPG writes for signatures): tag, then a 1/2/4-byte length. */
export function oldPacket(tag: number, body: Uint8Array): Buffer {
  const len = body.length;
  let head: Buffer;
  if (len < 0x100) head = Buffer.from([0x80 | (tag << 2), len]);
  else if (len < 0x10000) head = Buffer.from([0x80 | (tag << 2) | 1, len >> 8, len & 0xff]);
  else { head = Buffer.alloc(5); head[0] = 0x80 | (tag << 2) | 2; head.writeUInt32BE(len, 1); }
  return Buffer.concat([head, body]);
}

/** A multiprecision integer: bit count, then the big-endian bytes without leading zeroes. */
export function mpi(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  const bits = v.length === 0 || (v.length === 1 && v[0] === 0) ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  return Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), v]);
}

function subpacket(type: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

export interface SignatureParams {
  sigType: number;
  pkAlgo: number;
  hash: HashName;
  /** Signing (sub)key fingerprint, 20 bytes. */
  fingerprint: Buffer;
  created: number;
}

/**
 * The hashed part of a v4 signature and the trailer (RFC 4880 §5.2.4): what follows the
 * signed data in the hash. Hashed subpackets: issuer fingerprint (33), creation time (2).
 */
export function signatureHashedPart(p: SignatureParams): { hashed: Buffer; trailer: Buffer } {
  const created = Buffer.alloc(4);
  created.writeUInt32BE(p.created >>> 0);
  const sub = Buffer.concat([
    subpacket(33, Buffer.concat([Buffer.from([4]), p.fingerprint])),
    subpacket(2, created),
  ]);
  const hashed = Buffer.concat([Buffer.from([4, p.sigType, p.pkAlgo, HASH_ID[p.hash], sub.length >> 8, sub.length & 0xff]), sub]);
  const trailer = Buffer.alloc(6);
  trailer[0] = 4; trailer[1] = 0xff; trailer.writeUInt32BE(hashed.length, 2);
  return { hashed, trailer };
}

/** The complete signature packet from the hashed part, the hash's first two bytes and the MPIs. */
export function signaturePacket(hashed: Buffer, keyId: Buffer, left16: Uint8Array, mpis: Buffer[]): Buffer {
  const unhashed = subpacket(16, keyId);
  const body = Buffer.concat([hashed, Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed, left16.subarray(0, 2), ...mpis]);
  return oldPacket(2, body);
}

/** One-pass signature packet (tag 4) that precedes the literal data of an inline signature. */
export function onePassPacket(sigType: number, hash: HashName, pkAlgo: number, keyId: Buffer): Buffer {
  return oldPacket(4, Buffer.concat([Buffer.from([3, sigType, HASH_ID[hash], pkAlgo]), keyId, Buffer.from([1])]));
}

/** Literal data packet (tag 11) with no file name. */
export function literalPacket(data: Uint8Array, text: boolean, created: number): Buffer {
  const head = Buffer.alloc(6);
  head[0] = text ? 0x74 : 0x62; head[1] = 0; head.writeUInt32BE(created >>> 0, 2);
  return oldPacket(11, Buffer.concat([head, data]));
}
