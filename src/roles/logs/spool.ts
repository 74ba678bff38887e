import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ManifestEntry } from '../../protocol/buildlog/manifest.js';
import { writeAtomically } from '../../util/durable-file.js';

/**
 * The hand-over between BuildLog services and the daemon, as files (so nothing depends on
 * the daemon running): `<state>/spool/<id>.open.json` while a log is written,
 * `<id>.done.json` once it is closed. The daemon turns done records into commits and tickets,
 * and closes open records whose writer died.
 */
export interface SpoolRecord {
  path: string;
  vm: string;
  startMicros: number;
  /** The writing process and its start time (/proc/PID/stat field 22), to tell it is alive. */
  pid: number;
  pidStart: string;
  /** Set on close. */
  complete?: boolean;
  endMicros?: number;
  manifest?: ManifestEntry[];
  storedBytes?: number;
  receivedBytes?: number;
  lines?: number;
  /** The size cap was reached (input past it was counted, not stored). */
  capped?: boolean;
}

export type SpoolState = 'open' | 'done';

/** The record id of a log path: `/` → `+` (VM names and sub-dirs never contain `+`). */
export function spoolId(path: string): string {
  return path.replace(/\//g, '+');
}

export function spoolDir(state: string): string {
  return join(state, 'spool');
}

/** Removes a record if it is there (a step repeated after a crash finds it gone). */
export function removeSpool(state: string, id: string, st: SpoolState): void {
  try {
    unlinkSync(join(spoolDir(state), `${id}.${st}.json`));
  } catch {
    /* already gone, or never written (a recovered log was not opened through the spool) */
  }
}

/** Writes a record atomically (temp file, fsync, rename), so a crash leaves old or new, never half. */
export function writeSpool(state: string, rec: SpoolRecord, st: SpoolState): void {
  const dir = spoolDir(state);
  mkdirSync(dir, { recursive: true });
  const id = spoolId(rec.path);
  writeAtomically(join(dir, `${id}.${st}.json`), JSON.stringify(rec), 0o644, join(dir, `.${id}.${process.pid}.tmp`));
  if (st === 'done') removeSpool(state, id, 'open');
}

/** Room kept for a stop reason: written in place, so it needs no free space when the disk is full. */
const STOP_RESERVE = 256;
const stopFile = (state: string, path: string): string => join(spoolDir(state), `${spoolId(path)}.stop`);

/**
 * Reserves `<id>.stop` (STOP_RESERVE spaces, synced) while a log is open: a writer that fails
 * on a full disk can still say why (recordStopReason), and the daemon, closing the log once
 * space returns, writes that reason into the log's closing lines.
 */
export function reserveStopReason(state: string, path: string): void {
  mkdirSync(spoolDir(state), { recursive: true });
  const fd = openSync(stopFile(state, path), 'w', 0o644);
  try {
    writeSync(fd, ' '.repeat(STOP_RESERVE));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Overwrites the reserved bytes with `reason` (one line, cut to fit); best effort, never throws. */
export function recordStopReason(state: string, path: string, reason: string): void {
  try {
    const fd = openSync(stopFile(state, path), 'r+');
    try {
      writeSync(fd, Buffer.from(reason.replace(/[^\x20-\x7e]/g, '.').slice(0, STOP_RESERVE).padEnd(STOP_RESERVE), 'latin1'), 0, STOP_RESERVE, 0);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* no reserve (an older writer) or unwritable: the log still closes, without the reason */
  }
}

/** The reason a writer recorded ('' = none). Rule: printable ASCII only, at most STOP_RESERVE bytes. */
export function readStopReason(state: string, path: string): string {
  try {
    return readFileSync(stopFile(state, path), 'latin1').slice(0, STOP_RESERVE).replace(/[^\x20-\x7e]/g, '.').trim();
  } catch {
    return '';
  }
}

export function removeStopReason(state: string, path: string): void {
  try {
    unlinkSync(stopFile(state, path));
  } catch {
    /* never reserved, or already removed */
  }
}

export function listSpool(state: string): { id: string; st: SpoolState; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir(state));
  } catch {
    return [];
  }
  const out: { id: string; st: SpoolState; file: string }[] = [];
  for (const n of names) {
    const m = /^([^.][^/]*)\.(open|done)\.json$/.exec(n);
    if (m) out.push({ id: m[1]!, st: m[2] as SpoolState, file: join(spoolDir(state), n) });
  }
  return out;
}

export function readSpool(file: string): SpoolRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SpoolRecord;
  } catch {
    return undefined;
  }
}

/** /proc/PID/stat field 22 (start time in clock ticks): with the pid, names one process. */
export function processStart(pid: number): string {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

/** The writer of an open record is still running (same pid, same start time). */
export function writerAlive(rec: SpoolRecord): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(rec.pid);
  return !rec.pidStart || !start || start === rec.pidStart;
}

/**
 * Claims `<state>/daemon.pid` for this process. Rule: one daemon per store; a claim whose
 * process is gone (pid + start time) is stale and taken over.
 */
export function claimDaemonLock(state: string): { release: () => void } {
  const file = join(state, 'daemon.pid');
  const mine = `${process.pid} ${processStart(process.pid)}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, mine);
      closeSync(fd);
      return { release: () => { try { if (readFileSync(file, 'utf8') === mine) unlinkSync(file); } catch { /* gone */ } } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const [pid, start] = readFileSync(file, 'utf8').trim().split(' ');
      if (pid && writerAlive({ pid: Number(pid), pidStart: start ?? '' } as SpoolRecord) && Number(pid) !== process.pid) {
        throw new Error(`another logs daemon (pid ${pid}) owns this store`);
      }
      unlinkSync(file);
    }
  }
  throw new Error('cannot claim daemon.pid');
}
