import { QbuildError } from '../../errors.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from '../note/note.js';
import { HASH_SIZE } from './merkle.js';

/**
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note body a log signs to commit
 * to its tree head.
 *
 *   <origin>\n            the log's identity, e.g. `logs.qubes-os.org/qbuild`
 *   <tree size>\n         ASCII decimal, no leading zeroes (`0` for the empty tree)
 *   <base64 root hash>\n  standard base64 (RFC 4648 §4) of the 32-byte RFC 6962 root
 *   [<extension>\n ...]   optional, opaque, non-empty lines
 *
 * Signed as a C2SP signed note (src/protocol/note/note.ts); witnesses add cosignature lines
 * (cosignature.ts). Pure.
 */

export interface Checkpoint {
  origin: string;
  size: number;
  root: Buffer;
  extensions: string[];
}

/** A checkpoint body is small; anything bigger is not one of ours. */
const MAX_CHECKPOINT_BYTES = 64 * 1024;

function bad(why: string): never {
  throw new QbuildError('bad-input', `checkpoint: ${why}`);
}

/** No control characters in any line (newline is the separator, so never inside a line). */
function checkLine(line: string, what: string): void {
  if (/[\u0000-\u001f\u007f]/.test(line)) bad(`${what} contains a control character`);
}

/** Origin: non-empty, no control characters (spec: MUST be non-empty; anything else is a SHOULD). */
function checkOrigin(origin: string): void {
  if (origin === '') bad('origin line is empty');
  checkLine(origin, 'origin');
}

/** The tree size as a decimal line: no sign, no leading zeroes unless it is `0`, a safe integer. */
function parseSize(line: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(line)) bad(`tree size ${JSON.stringify(line.slice(0, 40))} is not a decimal without leading zeroes`);
  const n = Number(line);
  if (!Number.isSafeInteger(n)) bad('tree size too large');
  return n;
}

/** The root line: canonical padded standard base64 (decoding re-encodes to the same text) of 32 bytes. */
function parseRoot(line: string): Buffer {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(line)) bad('root hash is not the standard base64 of 32 bytes');
  const root = Buffer.from(line, 'base64');
  if (root.length !== HASH_SIZE || root.toString('base64') !== line) bad('root hash is not canonical base64');
  return root;
}

/** Extension lines: each non-empty (spec: MUST be non-empty), no control characters. */
function checkExtension(line: string): void {
  if (line === '') bad('extension line is empty');
  checkLine(line, 'extension line');
}

/** The note body of `c`, ending with a newline. Refuses what parseCheckpoint would refuse. */
export function formatCheckpoint(c: Checkpoint): string {
  checkOrigin(c.origin);
  if (c.origin.includes('\n')) bad('origin contains a newline');
  if (!Number.isSafeInteger(c.size) || c.size < 0) bad(`tree size ${c.size} is not a non-negative integer`);
  if (c.root.length !== HASH_SIZE) bad(`root hash must be ${HASH_SIZE} bytes`);
  for (const e of c.extensions) checkExtension(e);
  return [c.origin, String(c.size), c.root.toString('base64'), ...c.extensions].map((l) => `${l}\n`).join('');
}

/**
 * Parses a checkpoint body (the note text, signatures already split off). Rules: at most
 * 64 KiB; ends with a newline; at least three lines (origin, size, root), then extension
 * lines; each line as checked above; no blank line anywhere (a blank line would end the
 * note text).
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (text.length > MAX_CHECKPOINT_BYTES) bad('too large');
  if (!text.endsWith('\n')) bad('body must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('needs an origin, a tree size and a root hash line');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  checkOrigin(origin);
  const size = parseSize(sizeLine);
  const root = parseRoot(rootLine);
  for (const e of extensions) checkExtension(e);
  return { origin, size, root, extensions };
}

/** The complete signed checkpoint note (body, blank line, one signature line per signer). */
export function signCheckpoint(c: Checkpoint, ...signers: NoteSigner[]): string {
  return signNote(formatCheckpoint(c), ...signers);
}

/**
 * Opens a signed checkpoint note: at least one trusted log key verifies it (openNote's rules:
 * other signatures, e.g. cosignatures, are ignored), the body parses, and, when `origin` is
 * given, its origin line is exactly that (a checkpoint of another log is not this log's).
 */
export function openCheckpoint(note: string | Uint8Array, logKeys: NoteVerifier[], origin?: string): Checkpoint {
  const { text } = openNote(note, logKeys);
  const c = parseCheckpoint(text);
  if (origin !== undefined && c.origin !== origin) bad(`origin ${JSON.stringify(c.origin.slice(0, 80))} is not ${JSON.stringify(origin)}`);
  return c;
}
