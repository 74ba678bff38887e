import { createHash } from 'node:crypto';
import { QbuildError } from '../../../errors.js';
import { crc24 } from '../../pgp/armor.js';
import { MAX_COMMAND_BYTES } from '../clearsigned.js';
import { parseCommandLine, type Command } from './grammar.js';

/**
 * The canonical parse of a clearsigned command (upstream qubes-builderv2-github
 * utils/parse-command), before any cryptography: the input must be exactly what
 * `gpg --clearsign` writes for a one-line command, byte for byte, or it is refused. What
 * passes is one command line and one OpenPGP signature packet, both fully checked, so the
 * signature check that follows (openpgp) never sees anything it could read two ways.
 * Pure: text in, values out; every refusal is QbuildError('bad-input', why).
 */

export type HashName = 'SHA256' | 'SHA384' | 'SHA512';

export interface CanonicalCommand {
  hash: HashName;
  /** The signed text: one command line (no newline). */
  line: string;
  command: Command;
  /** The one signature packet, as sent (header, length and body). */
  packet: Buffer;
  /**
   * The command's identity in the replay store, hex: SHA-256 of the packet's hashed part
   * (version, type, algorithms, hashed subpackets: what the signature covers) and the line.
   * Not of the whole packet: its unhashed subpackets (and the encoding of the signature
   * values) can be changed by anyone without breaking the signature, which would make a copy
   * of an accepted command a new one.
   */
  digest: string;
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----\n';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----\n';
const END_SIGNATURE = '-----END PGP SIGNATURE-----\n';
/** OpenPGP hash algorithm ids (RFC 4880 §9.4) of the `Hash:` names accepted. */
const HASH_IDS: Record<HashName, number> = { SHA256: 8, SHA384: 9, SHA512: 10 };
/** Base64 text lines as gpg writes them (64) and at most what RFC 4880 §6.3 allows (76). */
const MAX_ARMOR_LINE = 76;

const bad = (why: string): never => { throw new QbuildError('bad-input', why); };

/**
 * Input as a whole: at most 8192 bytes; only printable ASCII and `\n` (no CR, tab, NUL);
 * exactly one BEGIN PGP SIGNED MESSAGE line, at the very start: a second signed block
 * anywhere (a comment with two signed blocks) is refused here, never silently dropped.
 */
function checkWhole(text: string): void {
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) bad(`longer than ${MAX_COMMAND_BYTES} bytes`);
  if (!/^[\x20-\x7e\n]*$/.test(text)) bad('contains bytes other than printable ASCII and newline');
  if (!text.startsWith(BEGIN_SIGNED)) bad('does not start with -----BEGIN PGP SIGNED MESSAGE-----');
  if (text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----', 1) >= 0) bad('more than one signed block (each command must be its own comment)');
  if (text.split(BEGIN_SIGNATURE).length !== 2) bad('not exactly one BEGIN PGP SIGNATURE line');
}

/**
 * Armor headers of the signed part: exactly one line `Hash: SHA256`, `Hash: SHA384` or
 * `Hash: SHA512` (one name, no list), then the blank line. No other header.
 */
function readHashHeader(text: string, at: number): { hash: HashName; next: number } {
  const m = /^Hash: (SHA256|SHA384|SHA512)\n\n/.exec(text.slice(at, at + 16));
  if (!m) bad('the only armor header must be "Hash: SHA256", "Hash: SHA384" or "Hash: SHA512", followed by a blank line');
  return { hash: m![1] as HashName, next: at + m![0].length };
}

/**
 * The signed text: exactly one line, then the BEGIN PGP SIGNATURE line. The line obeys the
 * command grammar (grammar.ts), which also means it never starts with `-`: so there is no
 * dash-escaped line (`- ` prefix, RFC 4880 §7.1) to undo, and one that is there is refused.
 */
function readSignedLine(text: string, at: number): { line: string; command: Command; next: number } {
  const nl = text.indexOf('\n', at);
  if (nl < 0) bad('no line after the armor headers');
  const line = text.slice(at, nl);
  if (!text.startsWith(BEGIN_SIGNATURE, nl + 1)) bad('the signed text must be exactly one line');
  return { line, command: parseCommandLine(line), next: nl + 1 + BEGIN_SIGNATURE.length };
}

/** Strict base64 (RFC 4648 §4): the alphabet only, length a multiple of 4, `=` only as final padding, no unused bits set. */
function decodeBase64(b64: string, what: string): Buffer {
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) bad(`${what} is not canonical base64`);
  const out = Buffer.from(b64, 'base64');
  if (out.toString('base64') !== b64) bad(`${what} is not canonical base64`);
  return out;
}

/**
 * The armored signature: BEGIN line, no armor headers (the blank line follows at once),
 * base64 lines of 1–76 characters, the `=XXXX` CRC-24 line (required, and it must match),
 * the END line, and nothing after it but its newline.
 */
function readArmor(text: string, at: number): Buffer {
  if (text[at] !== '\n') bad('the signature has armor headers (none are allowed)');
  const rest = text.slice(at + 1);
  if (!rest.endsWith(END_SIGNATURE)) bad('does not end with -----END PGP SIGNATURE----- and one newline');
  const lines = rest.slice(0, -END_SIGNATURE.length).split('\n');
  if (lines.pop() !== '') bad('the END PGP SIGNATURE line must start a line');
  const crcLine = lines.pop();
  if (crcLine === undefined || !/^=[A-Za-z0-9+/]{4}$/.test(crcLine)) bad('missing or misplaced armor checksum line (=XXXX)');
  if (lines.length === 0) bad('empty signature');
  for (const l of lines) if (l.length === 0 || l.length > MAX_ARMOR_LINE) bad(`signature lines must be 1-${MAX_ARMOR_LINE} characters`);
  const data = decodeBase64(lines.join(''), 'the signature');
  const crc = decodeBase64(crcLine!.slice(1), 'the armor checksum');
  if (crc.readUIntBE(0, 3) !== crc24(data)) bad('armor checksum (CRC-24) does not match the signature');
  return data;
}

/**
 * Exactly one OpenPGP packet, and it is a signature (tag 2). Lengths: new format one-,
 * two- or five-octet; old format one-, two- or four-octet. Partial and indeterminate
 * lengths are refused; the packet's length must be exactly the rest of the data (no
 * trailing packet, no trailing byte).
 */
function readOnePacket(data: Buffer): { tag: number; body: Buffer } {
  const first = data[0] ?? 0;
  if (!(first & 0x80)) bad('not an OpenPGP packet');
  let tag: number;
  let len: number;
  let header: number;
  if (first & 0x40) {
    tag = first & 0x3f;
    const o = data[1] ?? bad('truncated packet');
    if (o < 192) { len = o; header = 2; }
    else if (o < 224) { len = ((o - 192) << 8) + (data[2] ?? bad('truncated packet')) + 192; header = 3; }
    else if (o === 255) { if (data.length < 6) bad('truncated packet'); len = data.readUInt32BE(2); header = 6; }
    else return bad('partial-length packets are not allowed');
  } else {
    tag = (first >> 2) & 0x0f;
    const type = first & 0x03;
    if (type === 3) bad('indeterminate-length packets are not allowed');
    const n = 1 << type;
    if (data.length < 1 + n) bad('truncated packet');
    len = data.readUIntBE(1, n);
    header = 1 + n;
  }
  if (len !== data.length - header) bad(len > data.length - header ? 'truncated packet' : 'data after the signature packet (exactly one packet allowed)');
  return { tag, body: data.subarray(header) };
}

/**
 * The signature packet's fixed fields (RFC 4880 §5.2.3): version 4; type 0x01 (signature of
 * a canonical text document, what clearsigning makes); hash algorithm SHA-256/384/512 and
 * the same one the `Hash:` header named; the hashed subpacket area (two-octet length) lies
 * within the packet. Returns the hashed part: the fields and the hashed subpackets.
 */
function checkSignatureFields(body: Buffer, hash: HashName): Buffer {
  if (body.length < 6) bad('truncated signature packet');
  if (body[0] !== 4) bad(`only version 4 signatures are allowed (got version ${body[0]})`);
  if (body[1] !== 0x01) bad(`the signature must be of type 0x01 (canonical text), got 0x${body[1]!.toString(16).padStart(2, '0')}`);
  if (body[3] !== HASH_IDS[hash]) bad(`the signature's hash algorithm (id ${body[3]}) is not the Hash: header's ${hash}`);
  const end = 6 + body.readUInt16BE(4);
  if (end + 2 > body.length) bad('truncated signature packet (hashed subpackets)');
  return body.subarray(0, end);
}

/** The canonical parse (rules above, in this order). */
export function parseCanonicalCommand(text: string): CanonicalCommand {
  checkWhole(text);
  const { hash, next: afterHeader } = readHashHeader(text, BEGIN_SIGNED.length);
  const { line, command, next: afterLine } = readSignedLine(text, afterHeader);
  const packet = readArmor(text, afterLine);
  const { tag, body } = readOnePacket(packet);
  if (tag !== 2) bad(`the packet is not a signature (tag ${tag})`);
  const hashed = checkSignatureFields(body, hash);
  return { hash, line, command, packet, digest: createHash('sha256').update(hashed).update(line).digest('hex') };
}
