/**
 * The stored build-log format, as upstream's `qubesbuilder.BuildLog` writes it (design §5):
 *
 *   YYYY-MM-DD HH:MM:SS.ffffff +0000 <vm>: <line>      a line the build VM sent
 *   YYYY-MM-DD HH:MM:SS.ffffff +0000 > <message>       a line the logs VM adds
 *
 * stored as `<vm>/[sub/]log_YYYY-MM-DD_HH-MM-SS[.N]` (UTC start). Pure: no I/O.
 */

/** The line a build VM sends last when its stage finished (qbuild's addition; upstream has none). */
export const END_MARKER = 'qbuild-log-end';
/** Upstream's open/close marker messages. */
export const START_MESSAGE = 'starting log';
export const CLOSE_MESSAGE = 'closing log';
/** Prefix of every line qbuild adds when a log did not end properly (never written by upstream). */
export const INCOMPLETE_PREFIX = 'incomplete: ';
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/**
 * Every `>` line starting with this says: the build VM line just above does not end there
 * (its newline never came), so the next line from the build VM, if any, continues it. A piece
 * of a cut line is never a line of its own: not a manifest line, not the end marker.
 */
export const CUT_PREFIX = 'cut: ';
/** After each maxLineBytes piece of a longer line. */
export const CUT_LONG = `${CUT_PREFIX}the line above goes on in the next line`;
/** The size cap was reached inside the line above: the rest is counted, not stored. */
export const CUT_CAP = `${CUT_PREFIX}the line above goes on past the size cap`;
/** Recovery found the log ending inside a line: the logs service stopped before its newline. */
export const CUT_STOPPED = `${CUT_PREFIX}the line above had no newline when the logs service stopped`;

/** Byte → stored byte: 0x20–0x7E kept, everything else becomes `.` (upstream sanitize_line). */
export const SANITIZE = (() => {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = b >= 0x20 && b <= 0x7e ? b : 0x2e;
  return t;
})();

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** `YYYY-MM-DD HH:MM:SS.ffffff` for a time in microseconds since the epoch, UTC. */
export function formatLogTime(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const d = new Date(ms);
  const frac = String(Math.floor(micros) - Math.floor(micros / 1e6) * 1e6).padStart(6, '0');
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}.${frac}`;
}

/** The length of the timestamp every stored line starts with. */
export const TIME_LENGTH = 'YYYY-MM-DD HH:MM:SS.ffffff'.length;

/** A `>` line: the logs VM's own words in the log (markers, incomplete, size cap). */
export function markerLine(micros: number, message: string): string {
  return `${formatLogTime(micros)} +0000 > ${message}\n`;
}

/** The prefix of a build VM's line: `<time> +0000 <vm>: `. */
export function linePrefix(micros: number, vm: string): string {
  return `${formatLogTime(micros)} +0000 ${vm}: `;
}

/** `log_YYYY-MM-DD_HH-MM-SS` for the log's start time (UTC), plus `.N` for the N-th collision. */
export function logFileName(startMicros: number, collision = 0): string {
  const t = formatLogTime(startMicros);
  const base = `log_${t.slice(0, 10)}_${t.slice(11, 19).replace(/:/g, '-')}`;
  return collision > 0 ? `${base}.${collision}` : base;
}

/**
 * The sub-directory from BuildLog's argument, as upstream maps it: every character outside
 * `[A-Za-z0-9_-]` becomes `_` (so `.` and `..` can never name a directory); empty = none.
 * qrexec already limits the argument to `[A-Za-z0-9_.-]`, ≤ 64 characters.
 */
export function subdirFromArgument(arg: string | undefined): string {
  if (!arg) return '';
  return arg.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Current time in microseconds since the epoch (sub-millisecond from the monotonic clock). */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}
