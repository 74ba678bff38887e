import { QbuildError } from '../../errors.js';
import { signNote, type NoteSigner } from '../note/note.js';
import { formatRecord, formatSignLine, readHeader, readSignLines, recordLines } from '../record/lines.js';
import { checkTicket, formatTicketTime, parseTicketTime, type Ticket } from './ticket.js';

/**
 * Ticket v2 (docs/ticket.md): v1's fields plus the proof that the log's ledger entry is in the
 * logs VM's transparency log. The keys VM recomputes the entry from the ticket's own fields
 * (vm, log, log-sha256, log-start, log-end and the sign lines), checks it is leaf `leaf-index`
 * of the tree the signed checkpoint commits to, and that this tree extends the checkpoint it
 * last accepted (size `consistency-from`).
 *
 *   qbuild-ticket v2
 *   vm <build-vm>
 *   log <path>
 *   log-sha256 <64 hex>
 *   log-start <YYYY-MM-DDTHH:MM:SS.sssZ>
 *   log-end <YYYY-MM-DDTHH:MM:SS.sssZ>
 *   issued <YYYY-MM-DDTHH:MM:SSZ>
 *   expires <YYYY-MM-DDTHH:MM:SSZ>
 *   leaf-index <n>
 *   tree-size <n>
 *   consistency-from <n>
 *   checkpoint <base64 of the signed checkpoint note, cosignatures included>
 *   inclusion <64 hex>                   (zero or more: the audit path, leaf to root)
 *   consistency <64 hex>                 (zero or more: proof from consistency-from to tree-size)
 *   sign <form>:<64 hex> <label>         (zero or more, as in v1)
 */

export interface TicketV2 extends Ticket {
  /** The log's start and end as written in its ledger entry (UTC, milliseconds). */
  logStart: string;
  logEnd: string;
  leafIndex: number;
  treeSize: number;
  /** The signed checkpoint note (C2SP tlog-checkpoint body, logs VM signature, cosignatures). */
  checkpoint: string;
  inclusion: Buffer[];
  /** The tree size the consistency proof starts from: the checkpoint the keys VM holds. */
  consistencyFrom: number;
  consistency: Buffer[];
}

export const TICKET_V2_MAGIC = 'qbuild-ticket v2';
/** A proof of a tree below 2^63 leaves has at most 63 (inclusion) or 126 (consistency) hashes. */
export const MAX_PROOF_HASHES = 128;
/** The checkpoint note with up to 16 signatures fits well in this. */
export const MAX_CHECKPOINT_NOTE_BYTES = 16 * 1024;

const HEX64_RE = /^[0-9a-f]{64}$/;
const UINT_RE = /^(0|[1-9][0-9]{0,15})$/;
const MS_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function bad(why: string): never {
  throw new QbuildError('bad-input', `ticket: ${why}`);
}

/** The ledger-entry time of a log boundary given in microseconds since the epoch (millisecond precision). */
export function formatLogTime(micros: number): string {
  if (!Number.isSafeInteger(micros) || micros < 0) bad('bad time');
  return new Date(Math.floor(micros / 1000)).toISOString();
}

/**
 * A log time is `YYYY-MM-DDTHH:MM:SS.sssZ` exactly (UTC, three fraction digits, as
 * formatLogTime writes it) naming a real instant: it must read back to the same text.
 */
export function checkLogTime(s: string, what: string): string {
  if (!MS_TIME_RE.test(s)) bad(`bad ${what} ${JSON.stringify(s.slice(0, 40))}: want YYYY-MM-DDTHH:MM:SS.sssZ`);
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || d.toISOString() !== s) bad(`bad ${what} ${JSON.stringify(s)}`);
  return s;
}

/** A count or index is a decimal integer without leading zeros, at most 2^53 − 1. */
function parseUint(s: string, what: string): number {
  if (!UINT_RE.test(s)) bad(`${what} must be a decimal integer without leading zeros`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) bad(`${what} is too large`);
  return n;
}

/** A proof hash is exactly 64 lowercase hex digits (32 bytes). */
function parseHash(s: string, what: string): Buffer {
  if (!HEX64_RE.test(s)) bad(`${what} hash must be 64 lowercase hex digits`);
  return Buffer.from(s, 'hex');
}

/**
 * The checkpoint field is canonical padded base64 of at most 16 KiB of note: decoding and
 * re-encoding must give the same text, so one note has one spelling.
 */
function parseCheckpointField(s: string): string {
  if (!BASE64_RE.test(s) || s.length % 4 !== 0) bad('checkpoint must be base64');
  const raw = Buffer.from(s, 'base64');
  if (raw.toString('base64') !== s) bad('checkpoint must be canonical base64');
  if (raw.length > MAX_CHECKPOINT_NOTE_BYTES) bad(`checkpoint note larger than ${MAX_CHECKPOINT_NOTE_BYTES} bytes`);
  return raw.toString('utf8');
}

/**
 * The proof fields must describe a leaf inside the tree: leaf-index < tree-size, and
 * consistency-from ≤ tree-size; proofs at most MAX_PROOF_HASHES hashes each; the checkpoint
 * note at most MAX_CHECKPOINT_NOTE_BYTES and ending in a newline. (Whether the proofs verify
 * is the keys VM's check, against the checkpoint.)
 */
function checkTicketV2(t: TicketV2): void {
  checkTicket(t);
  checkLogTime(t.logStart, 'log-start');
  checkLogTime(t.logEnd, 'log-end');
  if (t.logEnd < t.logStart) bad('log-end before log-start');
  for (const [n, what] of [[t.leafIndex, 'leaf-index'], [t.treeSize, 'tree-size'], [t.consistencyFrom, 'consistency-from']] as const) {
    if (!Number.isSafeInteger(n) || n < 0) bad(`${what} must be a non-negative integer`);
  }
  if (t.leafIndex >= t.treeSize) bad(`leaf-index ${t.leafIndex} is not inside a tree of size ${t.treeSize}`);
  if (t.consistencyFrom > t.treeSize) bad(`consistency-from ${t.consistencyFrom} is larger than tree-size ${t.treeSize}`);
  if (t.inclusion.length > MAX_PROOF_HASHES || t.consistency.length > MAX_PROOF_HASHES) bad(`a proof has more than ${MAX_PROOF_HASHES} hashes`);
  if ([...t.inclusion, ...t.consistency].some((h) => h.length !== 32)) bad('proof hashes must be 32 bytes');
  if (!t.checkpoint.endsWith('\n') || Buffer.byteLength(t.checkpoint) > MAX_CHECKPOINT_NOTE_BYTES) bad('bad checkpoint note');
}

const HEADER = ['vm', 'log', 'log-sha256', 'log-start', 'log-end', 'issued', 'expires', 'leaf-index', 'tree-size', 'consistency-from', 'checkpoint'] as const;

/** The v2 ticket body (ends with a newline): the text of the signed note. */
export function encodeTicketV2(t: TicketV2): string {
  checkTicketV2(t);
  return formatRecord(TICKET_V2_MAGIC, HEADER, {
    vm: t.buildVm,
    log: t.logPath,
    'log-sha256': t.logSha256,
    'log-start': t.logStart,
    'log-end': t.logEnd,
    issued: formatTicketTime(t.issued),
    expires: formatTicketTime(t.expires),
    'leaf-index': String(t.leafIndex),
    'tree-size': String(t.treeSize),
    'consistency-from': String(t.consistencyFrom),
    checkpoint: Buffer.from(t.checkpoint, 'utf8').toString('base64'),
  }, [
    ...t.inclusion.map((h) => `inclusion ${h.toString('hex')}`),
    ...t.consistency.map((h) => `consistency ${h.toString('hex')}`),
    ...t.digests.map(formatSignLine),
  ]);
}

/**
 * Parses a v2 ticket body strictly. Rules: the first line is exactly `qbuild-ticket v2`; then
 * the header keys (vm, log, log-sha256, log-start, log-end, issued, expires, leaf-index,
 * tree-size, consistency-from, checkpoint) each exactly once, in that order, each
 * `key SP value` with one value; then zero or more `inclusion <hex>` lines, then zero or more
 * `consistency <hex>` lines, then zero or more `sign <form>:<hex> <label>` lines, in that
 * order and nothing else. No empty line, no trailing space, one final newline. Every value
 * obeys its rule (v1's for the shared fields, checkTicketV2 for the rest).
 */
export function parseTicketV2(text: string): TicketV2 {
  const lines = recordLines(text, TICKET_V2_MAGIC, bad);
  const values = readHeader(lines, HEADER, bad);
  let i = HEADER.length + 1;
  const run = (key: string): string[] => {
    const out: string[] = [];
    while (i < lines.length && lines[i]!.startsWith(`${key} `)) {
      if (out.length >= MAX_PROOF_HASHES) bad(`more than ${MAX_PROOF_HASHES} "${key}" lines`);
      out.push(lines[i]!.slice(key.length + 1));
      i++;
    }
    return out;
  };
  const inclusion = run('inclusion').map((h) => parseHash(h, 'inclusion'));
  const consistency = run('consistency').map((h) => parseHash(h, 'consistency'));
  const digests = readSignLines(lines, i, bad, ' (inclusion, consistency, sign lines in that order)');
  const t: TicketV2 = {
    buildVm: values.vm,
    logPath: values.log,
    logSha256: values['log-sha256'],
    logStart: values['log-start'],
    logEnd: values['log-end'],
    issued: parseTicketTime(values.issued),
    expires: parseTicketTime(values.expires),
    leafIndex: parseUint(values['leaf-index'], 'leaf-index'),
    treeSize: parseUint(values['tree-size'], 'tree-size'),
    consistencyFrom: parseUint(values['consistency-from'], 'consistency-from'),
    checkpoint: parseCheckpointField(values.checkpoint),
    inclusion,
    consistency,
    digests,
  };
  checkTicketV2(t);
  return t;
}

/** The v2 ticket as a signed note (what travels on LogReceived's stdin). */
export function signTicketV2(t: TicketV2, signer: NoteSigner): string {
  return signNote(encodeTicketV2(t), signer);
}
