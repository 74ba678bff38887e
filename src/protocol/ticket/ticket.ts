import { QbuildError } from '../../errors.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from '../note/note.js';
import { hasVmNameShape } from '../qrexec/names.js';
import { formatRecord, formatSignLine, readHeader, readSignLines, recordLines, type SignLine } from '../record/lines.js';
import { SIGN_FORMS } from '../signform.js';

/**
 * The signing ticket (design §6): what the logs VM hands the keys VM through
 * `qubesbuilder.LogReceived+<build-vm>` once a build log is stored and published. It names the
 * exact digests that build VM may have signed, and until when. The wire form is the body
 * below, carried as the text of a C2SP signed note signed by the logs VM (docs/ticket.md).
 *
 *   qbuild-ticket v1
 *   vm <build-vm>
 *   log <path in the log store>
 *   log-sha256 <64 hex>
 *   issued <YYYY-MM-DDTHH:MM:SSZ>
 *   expires <YYYY-MM-DDTHH:MM:SSZ>
 *   sign <form>:<64 hex> <label>        (zero or more; form sha256, text-sha256, clearsign-sha256)
 */

/** A digest the ticket grants: one `sign` line. */
export type TicketDigest = SignLine;

export interface Ticket {
  buildVm: string;
  logPath: string;
  logSha256: string;
  digests: TicketDigest[];
  issued: Date;
  expires: Date;
}

export const TICKET_MAGIC = 'qbuild-ticket v1';
/** More digests than this in one log is refused: a ticket is small by design. */
export const MAX_TICKET_DIGESTS = 10000;

const HEX64_RE = /^[0-9a-f]{64}$/;
const LABEL_RE = /^[\x21-\x7e]{1,255}$/;
const PATH_SEGMENT_RE = /^[A-Za-z0-9_.+-]{1,128}$/;
const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

function bad(why: string): never {
  throw new QbuildError('bad-input', `ticket: ${why}`);
}

/** A build VM name: starts with a letter, `[A-Za-z0-9_.-]`, at most 31 characters. */
export function isTicketVm(s: string): boolean {
  return hasVmNameShape(s);
}

/** A digest is exactly 64 lowercase hex characters (SHA-256). */
export function isSha256Hex(s: string): boolean {
  return HEX64_RE.test(s);
}

/** A label is 1–255 printable ASCII characters without spaces (a file name or role word). */
export function isTicketLabel(s: string): boolean {
  return LABEL_RE.test(s);
}

/**
 * A log path is relative, `/`-separated, 1–8 segments of `[A-Za-z0-9_.+-]`, no `.`/`..` segment,
 * at most 512 characters: it always names a file inside the log store.
 */
export function isLogPath(s: string): boolean {
  if (s.length === 0 || s.length > 512) return false;
  const segs = s.split('/');
  if (segs.length > 8) return false;
  return segs.every((g) => PATH_SEGMENT_RE.test(g) && g !== '.' && g !== '..');
}

/** RFC 3339 UTC with second precision, `Z` suffix: the one time form a ticket uses. */
export function formatTicketTime(d: Date): string {
  if (Number.isNaN(d.getTime())) bad('invalid date');
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Parses `YYYY-MM-DDTHH:MM:SSZ` exactly; rejects out-of-range fields (e.g. month 13, Feb 30). */
export function parseTicketTime(s: string): Date {
  const m = TIME_RE.exec(s);
  if (!m) bad(`bad time ${JSON.stringify(s.slice(0, 40))}: want YYYY-MM-DDTHH:MM:SSZ`);
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || formatTicketTime(d) !== s) bad(`bad time ${JSON.stringify(s)}`);
  return d;
}

/** The rules every ticket version shares (the field table in docs/ticket.md). */
export function checkTicket(t: Ticket): void {
  if (!isTicketVm(t.buildVm)) bad(`bad vm ${JSON.stringify(t.buildVm.slice(0, 40))}`);
  if (!isLogPath(t.logPath)) bad(`bad log path ${JSON.stringify(t.logPath.slice(0, 80))}`);
  if (!isSha256Hex(t.logSha256)) bad('log-sha256 must be 64 lowercase hex digits');
  if (t.digests.length > MAX_TICKET_DIGESTS) bad(`more than ${MAX_TICKET_DIGESTS} digests`);
  for (const d of t.digests) {
    if (!SIGN_FORMS.includes(d.form)) bad(`bad digest form ${JSON.stringify(String(d.form).slice(0, 20))}`);
    if (!isSha256Hex(d.sha256)) bad('sign digest must be 64 lowercase hex digits');
    if (!isTicketLabel(d.label)) bad(`bad label ${JSON.stringify(d.label.slice(0, 40))}`);
  }
  if (t.expires.getTime() < t.issued.getTime()) bad('expires before issued');
}

const HEADER = ['vm', 'log', 'log-sha256', 'issued', 'expires'] as const;

/** The ticket body text (ends with a newline): the text of the signed note. */
export function encodeTicket(t: Ticket): string {
  checkTicket(t);
  return formatRecord(TICKET_MAGIC, HEADER, {
    vm: t.buildVm,
    log: t.logPath,
    'log-sha256': t.logSha256,
    issued: formatTicketTime(t.issued),
    expires: formatTicketTime(t.expires),
  }, t.digests.map(formatSignLine));
}

/**
 * Parses a ticket body strictly. Rules: the first line is exactly `qbuild-ticket v1`; then
 * `vm`, `log`, `log-sha256`, `issued`, `expires` each exactly once, in that order; then only
 * `sign <form>:<hex> <label>` lines, form exactly `sha256`, `text-sha256` or
 * `clearsign-sha256`. Every line is `key SP value` with single spaces, no trailing space, no
 * empty line; the text ends with one newline. Unknown keys, bad hex,
 * bad names, times not in `YYYY-MM-DDTHH:MM:SSZ` form, or expiry before issue are refused.
 */
export function parseTicket(text: string): Ticket {
  const lines = recordLines(text, TICKET_MAGIC, bad);
  const values = readHeader(lines, HEADER, bad);
  const digests = readSignLines(lines, HEADER.length + 1, bad);
  const t: Ticket = {
    buildVm: values.vm,
    logPath: values.log,
    logSha256: values['log-sha256'],
    issued: parseTicketTime(values.issued),
    expires: parseTicketTime(values.expires),
    digests,
  };
  checkTicket(t);
  return t;
}

/** The ticket as a signed note (what travels on LogReceived's stdin). */
export function signTicket(t: Ticket, signer: NoteSigner): string {
  return signNote(encodeTicket(t), signer);
}

/**
 * Verifies a signed ticket note with the logs VM's verifier key(s) and parses its body.
 * Rules: the note must verify (openNote) before its text is parsed at all.
 */
export function openTicket(note: string | Uint8Array, verifiers: NoteVerifier[]): Ticket {
  return parseTicket(openNote(note, verifiers).text);
}
