import { sign, verify } from 'node:crypto';
import { QbuildError } from '../../errors.js';
import {
  checkKeyName, generateNoteKey, parseNote, parseSignerKey, parseVerifierKey, verifierKeyOf,
  type NoteSignature, type NoteSigner, type NoteVerifier,
} from '../note/note.js';
import { parseCheckpoint } from './checkpoint.js';

/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 `cosignature/v1`
 * kind: a witness's statement that, at `time`, this checkpoint is the largest consistent tree
 * head it has seen for the log. It is one more signature line on the checkpoint note:
 *
 *   — <witness name> base64(key ID[4] || timestamp u64 BE[8] || Ed25519 signature[64])
 *
 * over the message `cosignature/v1\ntime <timestamp>\n` + the checkpoint body. Key ID =
 * SHA-256(name || 0x0A || 0x04 || public key)[:4]; keys are vkeys with type 0x04
 * (`<name>+<key ID hex>+base64(0x04 || public key)`), signer keys
 * `PRIVATE+KEY+<name>+<key ID hex>+base64(0x04 || seed)`. The type byte keeps a cosignature
 * key apart from a note key (0x01): never give a witness key to openNote.
 */

export const COSIGNATURE_TYPE = 0x04;
/** 8-byte timestamp + 64-byte Ed25519 signature. */
const COSIGNATURE_BYTES = 72;
const MAX_TIMESTAMP = 2n ** 63n - 1n;

export type CosignatureVerifier = NoteVerifier;
export type CosignatureSigner = NoteSigner;

function bad(why: string): never {
  throw new QbuildError('bad-input', `cosignature: ${why}`);
}

/** A fresh witness key: signer and verifier (vkey) strings, type 0x04. */
export function generateWitnessKey(name: string): { signerKey: string; verifierKey: string } {
  return generateNoteKey(name, COSIGNATURE_TYPE);
}

/** Parses a witness vkey (signed-note key rules, type byte 0x04). */
export function parseWitnessVerifierKey(vkey: string): CosignatureVerifier {
  return parseVerifierKey(vkey, COSIGNATURE_TYPE);
}

/** Parses a witness signer key (signed-note key rules, type byte 0x04). */
export function parseWitnessSignerKey(skey: string): CosignatureSigner {
  return parseSignerKey(skey, COSIGNATURE_TYPE);
}

/** The vkey of a witness key. */
export function witnessVerifierKeyOf(w: CosignatureVerifier): string {
  return verifierKeyOf(w, COSIGNATURE_TYPE);
}

/** A timestamp is a POSIX time in whole seconds, 0 ≤ t ≤ 2^53 − 1 (the spec's bound 2^63 − 1 is beyond a safe number). */
function checkTime(time: number): void {
  if (!Number.isSafeInteger(time) || time < 0) bad(`timestamp ${time} is not a non-negative integer of seconds`);
}

/** The signed message: `cosignature/v1\ntime <decimal, no leading zeroes>\n` || checkpoint body. */
export function cosignedMessage(checkpointBody: string, time: number): Buffer {
  checkTime(time);
  return Buffer.from(`cosignature/v1\ntime ${time}\n${checkpointBody}`, 'utf8');
}

/**
 * One cosignature line (ending in a newline) for the checkpoint body, to append to the
 * checkpoint note. Rule: the body is a valid checkpoint (a witness cosigns nothing else).
 */
export function cosignCheckpoint(checkpointBody: string, witness: CosignatureSigner, time: number): string {
  parseCheckpoint(checkpointBody);
  checkKeyName(witness.name);
  const sig = sign(null, cosignedMessage(checkpointBody, time), witness.privateKey);
  const raw = Buffer.alloc(4 + COSIGNATURE_BYTES);
  raw.writeUInt32BE(witness.keyId, 0);
  raw.writeBigUInt64BE(BigInt(time), 4);
  sig.copy(raw, 12);
  return `\u2014 ${witness.name} ${raw.toString('base64')}\n`;
}

/**
 * The timestamp of a valid cosignature by `witness` over `checkpointBody`, else undefined.
 * Rules: the line's name and key ID are the witness's; the signature is exactly 8 + 64 bytes;
 * the timestamp is ≤ 2^63 − 1 (and a safe number); the Ed25519 signature verifies over the
 * cosigned message.
 */
export function verifyCosignature(checkpointBody: string, signature: NoteSignature, witness: CosignatureVerifier): number | undefined {
  if (signature.name !== witness.name || signature.keyId !== witness.keyId) return undefined;
  const raw = signature.signature;
  if (raw.length !== COSIGNATURE_BYTES) return undefined;
  const t = raw.readBigUInt64BE(0);
  if (t > MAX_TIMESTAMP || t > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  const time = Number(t);
  return verify(null, cosignedMessage(checkpointBody, time), witness.key, raw.subarray(8)) ? time : undefined;
}

/**
 * The configured witness keys that cosigned a checkpoint note, each key once, with the time
 * it signed. Rules (signed-note): lines whose name and key ID match no configured key are
 * ignored (the log's own signature among them); a line that matches one but does not verify
 * rejects the whole note. The log's signature is NOT checked here (openCheckpoint does). Two
 * keys under one name are two entries: who counts witnesses counts names.
 */
export function openCosignatures(note: string | Uint8Array, witnesses: CosignatureVerifier[]): { name: string; keyId: number; time: number }[] {
  const { text, signatures } = parseNote(note);
  const out: { name: string; keyId: number; time: number }[] = [];
  for (const sig of signatures) {
    const w = witnesses.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!w) continue;
    const time = verifyCosignature(text, sig, w);
    if (time === undefined) bad(`cosignature by ${sig.name} does not verify`);
    if (!out.some((o) => o.name === w.name && o.keyId === w.keyId)) out.push({ name: w.name, keyId: w.keyId, time });
  }
  return out;
}
