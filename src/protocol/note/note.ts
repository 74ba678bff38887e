import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { QbuildError } from '../../errors.js';

/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 (signature type 0x01).
 *
 * Key strings use the Go `golang.org/x/mod/sumdb/note` encoding, which transparency-log
 * tooling shares:
 *   verifier: `<name>+<keyid 8 hex>+<base64(0x01 || 32-byte public key)>`
 *   signer:   `PRIVATE+KEY+<name>+<keyid 8 hex>+<base64(0x01 || 32-byte seed)>`
 * Pure: strings and bytes in, values out; node:crypto only (fast start-up).
 */

export const ED25519_TYPE = 0x01;
const EM_DASH_PREFIX = '\u2014 ';
const MAX_SIGNATURES = 16;
const MAX_NOTE_BYTES = 1 << 20;

export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Buffer;
  key: KeyObject;
}

export interface NoteSigner extends NoteVerifier {
  privateKey: KeyObject;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The raw signature bytes after the 4-byte key ID. */
  signature: Buffer;
}

export interface ParsedNote {
  /** The signed text, including its final newline. */
  text: string;
  signatures: NoteSignature[];
}

function bad(why: string): never {
  throw new QbuildError('bad-input', `signed note: ${why}`);
}

/**
 * A key name is non-empty and has no Unicode spaces, no `+` and no control characters
 * (C2SP: "MUST NOT contain any Unicode spaces or plus").
 */
export function checkKeyName(name: string): string {
  if (!name) bad('empty key name');
  if (/[\s+\u0000-\u001f\u007f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name)) {
    bad(`key name ${JSON.stringify(name.slice(0, 80))} contains a space, "+" or a control character`);
  }
  return name;
}

/**
 * key ID = SHA-256(name || 0x0A || signature type || public key)[:4], as a big-endian uint32
 * (C2SP signed-note; type 0x01 Ed25519 notes, 0x04 tlog-cosignature Ed25519 cosignatures).
 */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = createHash('sha256');
  h.update(Buffer.from(name, 'utf8'));
  h.update(Buffer.from([0x0a, type]));
  h.update(publicKey);
  return h.digest().readUInt32BE(0);
}

/** key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4], as a big-endian uint32. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  return noteKeyId(name, ED25519_TYPE, publicKey);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** The key field of a key string: base64 of the type byte (0x01 unless told) followed by the raw key. */
function keyField(raw: Buffer, type: number = ED25519_TYPE): string {
  return Buffer.concat([Buffer.from([type]), raw]).toString('base64');
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
}

function rawPublicKey(priv: KeyObject): Buffer {
  const jwk = createPublicKey(priv).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

/** Strict standard base64 (RFC 4648 §4, padded): decoding must round-trip exactly. */
function strictBase64(s: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) bad(`${what}: not base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) bad(`${what}: not canonical base64`);
  return b;
}

/** Makes a fresh Ed25519 key: the signer and verifier key strings (type 0x01 unless told). */
export function generateNoteKey(name: string, type: number = ED25519_TYPE): { signerKey: string; verifierKey: string } {
  checkKeyName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const pub = rawPublicKey(privateKey);
  const id = hex8(noteKeyId(name, type, pub));
  return {
    signerKey: `PRIVATE+KEY+${name}+${id}+${keyField(seed, type)}`,
    verifierKey: `${name}+${id}+${keyField(pub, type)}`,
  };
}

/**
 * Parses a verifier key string. Rule: exactly `name+hash+key`; name valid; hash 8 lowercase
 * hex; key base64 of the type byte (0x01 unless told; an Ed25519 key either way) followed by
 * 32 bytes; the hash must equal the key ID computed from name, type and key (a mismatch means
 * a corrupted or forged key string).
 */
export function parseVerifierKey(s: string, type: number = ED25519_TYPE): NoteVerifier {
  const parts = splitPlus(s.trim(), 3);
  if (!parts) bad('verifier key must be name+hash+key');
  const [name, idHex, keyB64] = parts as [string, string, string];
  return decodeKey(name, idHex, keyB64, 'verifier key', (raw) => ({
    publicKey: raw,
    key: publicKeyObject(raw),
  }), type);
}

/** Parses a signer key string `PRIVATE+KEY+name+hash+base64(type||seed)`, same rules as verifier keys. */
export function parseSignerKey(s: string, type: number = ED25519_TYPE): NoteSigner {
  const parts = splitPlus(s.trim(), 5);
  if (!parts || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') bad('signer key must be PRIVATE+KEY+name+hash+key');
  const [, , name, idHex, keyB64] = parts as [string, string, string, string, string];
  let privateKey: KeyObject | undefined;
  const v = decodeKey(name, idHex, keyB64, 'signer key', (seed) => {
    // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): fixed 16-byte prefix + 32-byte seed.
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const pub = rawPublicKey(privateKey);
    return { publicKey: pub, key: publicKeyObject(pub) };
  }, type);
  return { ...v, privateKey: privateKey! };
}

/** Splits on the first n-1 `+` (the base64 key itself may contain `+`). */
function splitPlus(s: string, n: number): string[] | undefined {
  const out: string[] = [];
  let rest = s;
  for (let i = 0; i < n - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return undefined;
    out.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  out.push(rest);
  return out;
}

function decodeKey(
  name: string, idHex: string, keyB64: string, what: string,
  fromRaw: (raw: Buffer) => { publicKey: Buffer; key: KeyObject },
  type: number,
): NoteVerifier {
  checkKeyName(name);
  if (!/^[0-9a-f]{8}$/.test(idHex)) bad(`${what}: key hash must be 8 lowercase hex digits`);
  const raw = strictBase64(keyB64, what);
  if (raw.length !== 33 || raw[0] !== type) bad(`${what}: must be type 0x${hex2(type)} with a 32-byte Ed25519 key`);
  const { publicKey, key } = fromRaw(raw.subarray(1));
  const keyId = noteKeyId(name, type, publicKey);
  if (hex8(keyId) !== idHex) bad(`${what}: key hash does not match the key`);
  return { name, keyId, publicKey, key };
}

/**
 * Note text rules (C2SP): valid UTF-8, ends in a newline, no control characters other than
 * newline. We also refuse a text that is only a newline.
 */
export function checkNoteText(text: string): string {
  if (!text.endsWith('\n')) bad('text must end with a newline');
  if (text === '\n') bad('text is empty');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) bad('text contains a control character');
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) bad('text is not valid UTF-8');
  return text;
}

/** Signs `text` with each signer; returns the complete note (text, blank line, signature lines). */
export function signNote(text: string, ...signers: NoteSigner[]): string {
  checkNoteText(text);
  if (signers.length === 0) bad('no signer');
  const msg = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const sig = sign(null, msg, s.privateKey);
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.keyId, 0);
    return `${EM_DASH_PREFIX}${s.name} ${Buffer.concat([id, sig]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Splits a note into text and signature lines, verifying nothing. Rules: valid UTF-8 (as
 * bytes), size ≤ 1 MiB, no control characters but newline; the text ends at the LAST blank
 * line; after it, 1..16 lines `— <name> <base64(4-byte id || sig)>`, each ending in newline,
 * and nothing else.
 */
export function parseNote(input: string | Uint8Array): ParsedNote {
  let s: string;
  if (typeof input === 'string') {
    s = input;
  } else {
    if (input.length > MAX_NOTE_BYTES) bad('note too large');
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      bad('not valid UTF-8');
    }
  }
  if (Buffer.byteLength(s, 'utf8') > MAX_NOTE_BYTES) bad('note too large');
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s)) bad('note contains a control character');
  if (!s.endsWith('\n')) bad('note must end with a newline');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) bad('no blank line before the signatures');
  const text = s.slice(0, split + 1);
  checkNoteText(text);
  const sigLines = s.slice(split + 2, -1).split('\n');
  if (sigLines.length > MAX_SIGNATURES) bad(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = sigLines.map((line) => {
    if (!line.startsWith(EM_DASH_PREFIX)) bad('signature line must start with "\u2014 "');
    const rest = line.slice(EM_DASH_PREFIX.length);
    const sp = rest.lastIndexOf(' ');
    if (sp <= 0) bad('malformed signature line');
    const name = checkKeyName(rest.slice(0, sp));
    const raw = strictBase64(rest.slice(sp + 1), 'signature');
    if (raw.length < 5) bad('signature too short');
    return { name, keyId: raw.readUInt32BE(0), signature: Buffer.from(raw.subarray(4)) };
  });
  return { text, signatures };
}

/**
 * Opens a note with trusted verifiers. Rules (C2SP): signatures whose (name, key ID) match no
 * known key are ignored; a matching signature that fails to verify rejects the whole note; at
 * least one known key must have verified it. Returns the text and the names that verified.
 */
export function openNote(input: string | Uint8Array, verifiers: NoteVerifier[]): { text: string; verifiedBy: string[] } {
  const note = parseNote(input);
  const msg = Buffer.from(note.text, 'utf8');
  const verifiedBy: string[] = [];
  for (const sig of note.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) continue;
    if (sig.signature.length !== 64 || !verify(null, msg, v.key, sig.signature)) {
      bad(`signature by ${sig.name} does not verify`);
    }
    if (!verifiedBy.includes(v.name)) verifiedBy.push(v.name);
  }
  if (verifiedBy.length === 0) bad('no signature by a trusted key');
  return { text: note.text, verifiedBy };
}

/** The verifier key string of a signer (what the keys VM is provisioned with); type 0x01 unless told. */
export function verifierKeyOf(s: NoteVerifier, type: number = ED25519_TYPE): string {
  return `${s.name}+${hex8(s.keyId)}+${keyField(s.publicKey, type)}`;
}
