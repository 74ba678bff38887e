import { QbuildError } from '../../errors.js';
import { formatRecord, formatSignLine, readHeader, readSignLines, recordLines, type SignLine } from '../record/lines.js';
import { SIGN_FORMS } from '../signform.js';
import { isLogPath, isSha256Hex, isTicketLabel, isTicketVm } from '../ticket/ticket.js';

/**
 * A ledger entry: the record the logs VM appends to its Merkle tree for every finished build
 * log (one leaf; leaf hash = SHA-256(0x00 || the encoded bytes)). The encoding is a small ASCII
 * text, one field per line, so an auditor can read an entry bundle with `less`:
 *
 *   qbuild-ledger-entry v1
 *   vm <build vm>
 *   log <path of the log in the logs repository>
 *   log-sha256 <64 lowercase hex: SHA-256 of the log file's bytes>
 *   start <YYYY-MM-DDTHH:MM:SS[.sss]Z>
 *   end <YYYY-MM-DDTHH:MM:SS[.sss]Z>
 *   sign <form>:<64 hex> <label>      zero or more, in the log's manifest order;
 *                                     form sha256 | text-sha256 | clearsign-sha256
 *
 * Every line ends with LF, single spaces, no trailing space, nothing else. The encoding is a
 * function of the fields (fixed order, no optional whitespace), so parse(encode(e)) = e and
 * encode(parse(b)) = b. The values follow the ticket's rules (src/protocol/ticket/ticket.ts):
 * the same vm, log path, digest and label shapes. An encoded entry is at most 65 535 bytes:
 * tlog-tiles entry bundles prefix each entry with a uint16 length.
 */

/** A digest the log's manifest names: one `sign` line. */
export type LedgerDigest = SignLine;

export interface LedgerEntry {
  vm: string;
  path: string;
  logSha256: string;
  digests: LedgerDigest[];
  /** When the log started and ended, RFC 3339 UTC (`Z`), second or millisecond precision. */
  start: string;
  end: string;
}

export const ENTRY_MAGIC = 'qbuild-ledger-entry v1';
/** The largest encoded entry: an entry bundle's uint16 length prefix. */
export const MAX_ENTRY_BYTES = 0xffff;

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z$/;

function bad(why: string): never {
  throw new QbuildError('bad-input', `ledger entry: ${why}`);
}

/**
 * A time is `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC) naming a real instant:
 * month 01-12, a day that month has (leap years by the Gregorian rule), hour < 24, minute and
 * second < 60. Checked by numbers, not by Date parsing (100 000 entries parse in a blink).
 */
function checkTime(s: string, what: string): number {
  const m = TIME_RE.exec(s);
  if (!m) bad(`${what} ${JSON.stringify(s.slice(0, 40))} is not YYYY-MM-DDTHH:MM:SS[.sss]Z`);
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  if (days === undefined || d < 1 || d > days || h > 23 || mi > 59 || sec > 59) bad(`${what} ${JSON.stringify(s)} is not a real time`);
  return Date.UTC(y, mo - 1, d, h, mi, sec, Number(m[7] ?? 0));
}

/** The field rules, shared by encode and parse (so neither produces what the other refuses). */
function checkEntry(e: LedgerEntry): void {
  if (!isTicketVm(e.vm)) bad(`bad vm ${JSON.stringify(String(e.vm).slice(0, 40))}`);
  if (!isLogPath(e.path)) bad(`bad log path ${JSON.stringify(String(e.path).slice(0, 80))}`);
  if (!isSha256Hex(e.logSha256)) bad('log-sha256 must be 64 lowercase hex digits');
  for (const d of e.digests) {
    if (!SIGN_FORMS.includes(d.form)) bad(`bad digest form ${JSON.stringify(String(d.form).slice(0, 20))}`);
    if (!isSha256Hex(d.sha256)) bad('sign digest must be 64 lowercase hex digits');
    if (!isTicketLabel(d.label)) bad(`bad label ${JSON.stringify(String(d.label).slice(0, 40))}`);
  }
  /** Rule: the log ends no earlier than it starts. */
  if (checkTime(e.end, 'end') < checkTime(e.start, 'start')) bad('end is before start');
}

const HEADER = ['vm', 'log', 'log-sha256', 'start', 'end'] as const;

/** The entry's bytes (what the tree hashes and the entry bundle carries). */
export function encodeEntry(e: LedgerEntry): Buffer {
  checkEntry(e);
  const text = formatRecord(ENTRY_MAGIC, HEADER, {
    vm: e.vm, log: e.path, 'log-sha256': e.logSha256, start: e.start, end: e.end,
  }, e.digests.map(formatSignLine));
  const bytes = Buffer.from(text, 'ascii');
  if (bytes.length > MAX_ENTRY_BYTES) bad(`encoded entry is ${bytes.length} bytes, more than ${MAX_ENTRY_BYTES} (too many digests in one log)`);
  return bytes;
}

/**
 * Parses an entry strictly. Rules: at most 65 535 bytes of printable ASCII and LF; ends with
 * LF; first line exactly `qbuild-ledger-entry v1`; then `vm`, `log`, `log-sha256`, `start`,
 * `end` once each in that order, each `key SP value` with one value; then only
 * `sign <form>:<hex> <label>` lines. Unknown lines or keys, empty lines, CR, tabs, extra
 * spaces and values breaking the field rules are refused.
 */
export function parseEntry(bytes: Uint8Array): LedgerEntry {
  if (bytes.length > MAX_ENTRY_BYTES) bad('too large');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
  if (/[^\x20-\x7e\n]/.test(text)) bad('contains a byte that is not printable ASCII or LF');
  const lines = recordLines(text, ENTRY_MAGIC, bad);
  const values = readHeader(lines, HEADER, bad);
  const e: LedgerEntry = {
    vm: values.vm,
    path: values.log,
    logSha256: values['log-sha256'],
    digests: readSignLines(lines, HEADER.length + 1, bad),
    start: values.start,
    end: values.end,
  };
  checkEntry(e);
  return e;
}
