/**
 * The bytes rpmsign hands to gpg for an .rpm (design §6; checked with rpm 4.18 by capturing
 * `%__gpg`'s stdin): the main header blob, i.e. what follows the 96-byte lead and the
 * signature header (padded to a multiple of 8), 16 + 16·index_count + data_size bytes long.
 * The build VM lists its sha256 in the manifest; signing does not change it, because
 * rpmsign only rewrites the signature header. Pure: bytes in, values out.
 */
import { createHash } from 'node:crypto';
import { QbuildError } from '../../errors.js';

const LEAD_SIZE = 96;
const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);
/** rpm's own limits (rpmlib hdrchkTags/hdrchkData): 0xffff entries, 256 MiB of data. */
const MAX_INDEX = 0xffff;
const MAX_DATA = 256 * 1024 * 1024;

function bad(why: string): never {
  throw new QbuildError('bad-input', `rpm: ${why}`);
}

/**
 * Locates a header structure at `offset`. Rules: the 8-byte header magic (with 4 reserved
 * bytes), index count ≤ 0xffff, data size ≤ 256 MiB, and the whole header inside the file.
 */
function headerAt(rpm: Uint8Array, offset: number, what: string): { start: number; end: number } {
  const b = Buffer.from(rpm.buffer, rpm.byteOffset, rpm.byteLength);
  if (b.length < offset + 16) bad(`${what}: file too short`);
  if (!b.subarray(offset, offset + 4).equals(HEADER_MAGIC)) bad(`${what}: bad header magic`);
  const il = b.readUInt32BE(offset + 8);
  const dl = b.readUInt32BE(offset + 12);
  if (il > MAX_INDEX || dl > MAX_DATA) bad(`${what}: header too large (${il} entries, ${dl} bytes)`);
  const end = offset + 16 + 16 * il + dl;
  if (end > b.length) bad(`${what}: truncated`);
  return { start: offset, end };
}

/** The main header blob of an .rpm: exactly what rpmsign feeds gpg on stdin. */
export function rpmSignedHeaderBlob(rpm: Uint8Array): Buffer {
  const b = Buffer.from(rpm.buffer, rpm.byteOffset, rpm.byteLength);
  if (b.length < LEAD_SIZE || !b.subarray(0, 4).equals(LEAD_MAGIC)) bad('not an rpm file (bad lead magic)');
  const sig = headerAt(b, LEAD_SIZE, 'signature header');
  const mainStart = sig.end + ((8 - (sig.end % 8)) % 8);
  const main = headerAt(b, mainStart, 'main header');
  return Buffer.from(b.subarray(main.start, main.end));
}

/** sha256 (lowercase hex) of the header blob: the digest a `qbuild-sign` manifest line names. */
export function rpmSignDigest(rpm: Uint8Array): string {
  return createHash('sha256').update(rpmSignedHeaderBlob(rpm)).digest('hex');
}

/** The manifest line the build VM prints for this package (design §6). */
export function rpmManifestLine(rpm: Uint8Array, label: string): string {
  if (!/^[\x21-\x7e]{1,255}$/.test(label)) bad('manifest label must be 1-255 printable ASCII characters without spaces');
  return `qbuild-sign sha256:${rpmSignDigest(rpm)} ${label}`;
}

/** Signature-header tags holding an OpenPGP signature of the main header blob (rpm's RPMSIGTAG_RSA, RPMSIGTAG_DSA). */
const HEADER_SIGNATURE_TAGS = [268, 267];
const BIN_TYPE = 7;

/**
 * The OpenPGP signature packet rpmsign stored for the main header blob, or undefined for an
 * unsigned package. Rules: the signature header parses (headerAt); the first index entry
 * with tag 268 or 267 must have type BIN and its bytes inside the header's data.
 */
export function rpmHeaderSignature(rpm: Uint8Array): Buffer | undefined {
  const b = Buffer.from(rpm.buffer, rpm.byteOffset, rpm.byteLength);
  if (b.length < LEAD_SIZE || !b.subarray(0, 4).equals(LEAD_MAGIC)) bad('not an rpm file (bad lead magic)');
  const sig = headerAt(b, LEAD_SIZE, 'signature header');
  const il = b.readUInt32BE(sig.start + 8);
  const data = sig.start + 16 + 16 * il;
  for (const tag of HEADER_SIGNATURE_TAGS) {
    for (let i = 0; i < il; i++) {
      const e = sig.start + 16 + 16 * i;
      if (b.readUInt32BE(e) !== tag) continue;
      const type = b.readUInt32BE(e + 4);
      const off = b.readUInt32BE(e + 8);
      const count = b.readUInt32BE(e + 12);
      if (type !== BIN_TYPE || data + off + count > sig.end) bad('signature header: malformed header signature entry');
      return Buffer.from(b.subarray(data + off, data + off + count));
    }
  }
  return undefined;
}
