import { QbuildError } from '../../errors.js';
import { FORM_TOKEN, SIGN_FORMS, formFromToken, type SignForm } from '../signform.js';
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

export interface LedgerDigest {
  form: SignForm;
  sha256: string;
  label: string;
}

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

/** The entry's bytes (what the tree hashes and the entry bundle carries). */
export function encodeEntry(e: LedgerEntry): Buffer {
  checkEntry(e);
  const lines = [
    ENTRY_MAGIC,
    `vm ${e.vm}`,
    `log ${e.path}`,
    `log-sha256 ${e.logSha256}`,
    `start ${e.start}`,
    `end ${e.end}`,
    ...e.digests.map((d) => `sign ${FORM_TOKEN[d.form]}:${d.sha256} ${d.label}`),
  ];
  const bytes = Buffer.from(`${lines.join('\n')}\n`, 'ascii');
  if (bytes.length > MAX_ENTRY_BYTES) bad(`encoded entry is ${bytes.length} bytes, more than ${MAX_ENTRY_BYTES} (too many digests in one log)`);
  return bytes;
}

const HEADER = ['vm', 'log', 'log-sha256', 'start', 'end'] as const;

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
  if (!text.endsWith('\n')) bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== ENTRY_MAGIC) bad(`first line must be "${ENTRY_MAGIC}"`);
  const values: Partial<Record<(typeof HEADER)[number], string>> = {};
  HEADER.forEach((key, i) => {
    const line = lines[i + 1];
    if (line === undefined) bad(`missing "${key}" line`);
    const sp = line.indexOf(' ');
    if (sp < 0 || line.slice(0, sp) !== key) bad(`line ${i + 2}: expected "${key} <value>"`);
    const value = line.slice(sp + 1);
    if (value === '' || value.includes(' ')) bad(`line ${i + 2}: "${key}" takes exactly one value`);
    values[key] = value;
  });
  const digests: LedgerDigest[] = [];
  for (let i = HEADER.length + 1; i < lines.length; i++) {
    const parts = lines[i]!.split(' ');
    const colon = parts[1]?.indexOf(':') ?? -1;
    const form = colon > 0 ? formFromToken(parts[1]!.slice(0, colon)) : undefined;
    if (parts.length !== 3 || parts[0] !== 'sign' || !form) {
      bad(`line ${i + 1}: expected "sign <sha256|text-sha256|clearsign-sha256>:<hex> <label>"`);
    }
    digests.push({ form, sha256: parts[1]!.slice(colon + 1), label: parts[2]! });
  }
  const e: LedgerEntry = {
    vm: values.vm!, path: values.log!, logSha256: values['log-sha256']!, digests, start: values.start!, end: values.end!,
  };
  checkEntry(e);
  return e;
}
