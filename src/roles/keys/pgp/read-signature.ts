/**
 * Reads the one detached signature a `--verify` request carries (RFC 4880 §4, §5.2.3, §6):
 * outside input, so every rule is checked here and every failure is a value, never a throw.
 * The result says what GnuPG would report: NODATA (no OpenPGP data, or not a signature),
 * `unsupported` (a signature gpg could read but we do not check: ERRSIG), or the signature.
 */
import { crc24 } from '../../../protocol/pgp/armor.js';

/** A v4 signature over a document (binary 0x00 or canonical text 0x01). */
export interface ReadSignature {
  sigType: 0x00 | 0x01;
  pkAlgo: 1 | 22;
  hashAlgo: number;
  /** Version through the hashed subpackets: what the hash covers after the data. */
  hashedPart: Buffer;
  created: number;
  /** Issuer key ID (16 upper-case hex) and fingerprint (40), when the packet names them. */
  issuerKeyId: string | undefined;
  issuerFingerprint: string | undefined;
  left16: Buffer;
  /** RSA: [m^d mod n]; EdDSA: [r, s]. */
  mpis: Buffer[];
}

/** NODATA codes (GnuPG doc/DETAILS): 1 no armored data, 2 expected packet not found, 3 invalid packet, 4 signature expected. */
export type SignatureRead =
  | { kind: 'signature'; sig: ReadSignature }
  | { kind: 'nodata'; code: 1 | 2 | 3 | 4; why: string }
  | { kind: 'unsupported'; why: string; keyId: string; pkAlgo: number; hashAlgo: number; sigType: number; created: number };

/** Hash algorithms a document signature may use here (RFC 4880 §9.4 IDs → node:crypto names). */
export const VERIFY_HASHES: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

const nodata = (code: 1 | 2 | 3 | 4, why: string): SignatureRead => ({ kind: 'nodata', code, why });

const ARMOR_BEGIN = '-----BEGIN PGP SIGNATURE-----';
const ARMOR_END = '-----END PGP SIGNATURE-----';
const B64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Armor rules: the first line that is exactly the BEGIN line (trailing blanks allowed)
 * starts the block; header lines `Key: value` follow up to one empty line; then base64 lines,
 * an optional `=` + 4 base64 CRC-24 line that must match, and the END line. Anything else in
 * the block (a bad character, no END line, a wrong checksum) means no data.
 */
function dearmor(text: string): Buffer | SignatureRead {
  const lines = text.split('\n').map((l) => l.replace(/[ \t\r]+$/, ''));
  let i = lines.indexOf(ARMOR_BEGIN);
  if (i < 0) return nodata(1, 'no valid OpenPGP data found');
  i++;
  while (i < lines.length && lines[i] !== '') {
    if (!/^[\x21-\x39\x3b-\x7e]+: /.test(lines[i]!)) return nodata(1, 'invalid armor header');
    i++;
  }
  if (i >= lines.length) return nodata(1, 'armor header not followed by an empty line');
  i++;
  let b64 = '';
  let crc: string | undefined;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === ARMOR_END) break;
    if (crc !== undefined) return nodata(1, 'data after the armor checksum');
    if (l.startsWith('=') && l.length === 5) { crc = l.slice(1); continue; }
    if (!B64_LINE.test(l)) return nodata(1, 'invalid radix64 character');
    b64 += l;
  }
  if (i >= lines.length) return nodata(1, 'premature end of the armored signature');
  if (b64.length % 4 !== 0 || /=[^=]/.test(b64)) return nodata(1, 'invalid radix64 data');
  const bytes = Buffer.from(b64, 'base64');
  if (crc !== undefined) {
    if (!B64_LINE.test(crc)) return nodata(1, 'invalid armor checksum');
    const want = Buffer.from(crc, 'base64');
    const got = crc24(bytes);
    if (want.length !== 3 || want.readUIntBE(0, 3) !== got) return nodata(1, 'CRC error in the armored signature');
  }
  return bytes;
}

/**
 * Packet framing rules: old- or new-format header with a definite length that fits in the
 * input (partial and indeterminate lengths are refused); exactly one packet, a signature
 * (tag 2), and nothing after it.
 */
function onePacket(b: Buffer): { tag: number; body: Buffer } | SignatureRead {
  if (b.length === 0) return nodata(2, 'no signature data');
  const c = b[0]!;
  if ((c & 0x80) === 0) return nodata(1, 'no valid OpenPGP data found');
  let tag: number; let len: number; let head: number;
  if (c & 0x40) {
    tag = c & 0x3f;
    const o = b[1];
    if (o === undefined) return nodata(3, 'truncated packet header');
    if (o < 192) { len = o; head = 2; }
    else if (o < 224) { if (b.length < 3) return nodata(3, 'truncated packet header'); len = ((o - 192) << 8) + b[2]! + 192; head = 3; }
    else if (o === 255) { if (b.length < 6) return nodata(3, 'truncated packet header'); len = b.readUInt32BE(2); head = 6; }
    else return nodata(3, 'partial body length in a signature packet');
  } else {
    tag = (c >> 2) & 0x0f;
    const lt = c & 3;
    if (lt === 3) return nodata(3, 'indeterminate length in a signature packet');
    head = 1 + (1 << lt);
    if (b.length < head) return nodata(3, 'truncated packet header');
    len = lt === 0 ? b[1]! : lt === 1 ? b.readUInt16BE(1) : b.readUInt32BE(1);
  }
  if (tag !== 2) return nodata(4, `packet type ${tag} where a signature was expected`);
  if (head + len > b.length) return nodata(3, 'premature end of the signature packet');
  if (head + len < b.length) return nodata(3, 'more than one packet (one detached signature expected)');
  return { tag, body: b.subarray(head, head + len) };
}

interface Subpackets { created?: number; issuerKeyId?: string; issuerFingerprint?: string; unknownCritical?: number }

/** Subpacket rules (§5.2.3.1): lengths fit the area; creation time is 4 bytes; issuer 8; issuer fingerprint v4 + 20. */
function subpackets(area: Buffer, into: Subpackets, hashed: boolean): string | undefined {
  let i = 0;
  while (i < area.length) {
    const o = area[i]!;
    let len: number; let head: number;
    if (o < 192) { len = o; head = 1; }
    else if (o < 255) { if (i + 2 > area.length) return 'truncated subpacket length'; len = ((o - 192) << 8) + area[i + 1]! + 192; head = 2; }
    else { if (i + 5 > area.length) return 'truncated subpacket length'; len = area.readUInt32BE(i + 1); head = 5; }
    if (len < 1 || i + head + len > area.length) return 'subpacket longer than its area';
    const type = area[i + head]! & 0x7f;
    const critical = (area[i + head]! & 0x80) !== 0;
    const data = area.subarray(i + head + 1, i + head + len);
    if (type === 2) {
      if (data.length !== 4) return 'bad creation time subpacket';
      if (hashed) into.created = data.readUInt32BE(0);
    } else if (type === 16) {
      if (data.length !== 8) return 'bad issuer subpacket';
      into.issuerKeyId ??= data.toString('hex').toUpperCase();
    } else if (type === 33) {
      if (data.length === 21 && data[0] === 4) into.issuerFingerprint ??= data.subarray(1).toString('hex').toUpperCase();
    } else if (critical && hashed) {
      into.unknownCritical ??= type;
    }
    i += head + len;
  }
  return undefined;
}

/** MPI rules: a 2-byte bit count, then exactly ceil(bits/8) bytes, all inside the packet. */
function mpis(b: Buffer, count: number): Buffer[] | undefined {
  const out: Buffer[] = [];
  let i = 0;
  for (let n = 0; n < count; n++) {
    if (i + 2 > b.length) return undefined;
    const bytes = (b.readUInt16BE(i) + 7) >> 3;
    if (i + 2 + bytes > b.length) return undefined;
    out.push(b.subarray(i + 2, i + 2 + bytes));
    i += 2 + bytes;
  }
  return i === b.length ? out : undefined;
}

/** Reads a detached signature, armored or binary, by the rules above. */
export function readDetachedSignature(input: Buffer): SignatureRead {
  let bytes: Buffer;
  if (input.includes(ARMOR_BEGIN)) {
    const d = dearmor(input.toString('latin1'));
    if (!Buffer.isBuffer(d)) return d;
    bytes = d;
  } else {
    bytes = input;
  }
  const p = onePacket(bytes);
  if ('kind' in p) return p;
  const body = p.body;
  if (body.length < 1) return nodata(3, 'empty signature packet');
  const version = body[0]!;
  if (version !== 4) {
    return { kind: 'unsupported', why: `signature packet version ${version}`, keyId: '0000000000000000', pkAlgo: 0, hashAlgo: 0, sigType: 0, created: 0 };
  }
  if (body.length < 6) return nodata(3, 'signature packet too short');
  const sigType = body[1]!; const pkAlgo = body[2]!; const hashAlgo = body[3]!;
  const hashedLen = body.readUInt16BE(4);
  if (6 + hashedLen + 2 > body.length) return nodata(3, 'signature packet too short');
  const found: Subpackets = {};
  const bad = subpackets(body.subarray(6, 6 + hashedLen), found, true);
  if (bad) return nodata(3, bad);
  const unhashedAt = 6 + hashedLen;
  const unhashedLen = body.readUInt16BE(unhashedAt);
  const restAt = unhashedAt + 2 + unhashedLen;
  if (restAt + 2 > body.length) return nodata(3, 'signature packet too short');
  const badU = subpackets(body.subarray(unhashedAt + 2, restAt), found, false);
  if (badU) return nodata(3, badU);
  if (found.created === undefined) return nodata(3, 'signature without a creation time');
  const keyId = found.issuerKeyId ?? found.issuerFingerprint?.slice(24) ?? '0000000000000000';
  const unsupported = (why: string): SignatureRead => ({ kind: 'unsupported', why, keyId, pkAlgo, hashAlgo, sigType, created: found.created! });
  if (sigType !== 0x00 && sigType !== 0x01) return unsupported(`signature class 0x${sigType.toString(16).padStart(2, '0')} is not a document signature`);
  if (pkAlgo !== 1 && pkAlgo !== 22) return unsupported(`public key algorithm ${pkAlgo}`);
  if (!(hashAlgo in VERIFY_HASHES)) return unsupported(`digest algorithm ${hashAlgo}`);
  if (found.unknownCritical !== undefined) return unsupported(`unknown critical subpacket ${found.unknownCritical}`);
  const m = mpis(body.subarray(restAt + 2), pkAlgo === 22 ? 2 : 1);
  if (!m) return nodata(3, 'malformed signature value');
  return {
    kind: 'signature',
    sig: {
      sigType, pkAlgo, hashAlgo, hashedPart: body.subarray(0, 6 + hashedLen), created: found.created,
      issuerKeyId: found.issuerKeyId, issuerFingerprint: found.issuerFingerprint, left16: body.subarray(restAt, restAt + 2), mpis: m,
    },
  };
}
