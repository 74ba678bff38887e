import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { oneLine } from '../../../errors.js';
import { syncDir } from '../../../util/durable-file.js';
import type { BuildPaths } from '../state/paths.js';
import { IMAGE_REPOSITORIES, issueKey, type ImageEvent, type ImageRepository, type IssueChanges, type QueuedReport, type ReportEvent } from './events.js';

/**
 * The durable report queue (docs/reports.md): one file per event under build/reports/queue/,
 * named by its id, which sorts by queue time. A file is created by write + fsync + rename +
 * fsync of the directory, so a crash leaves the event whole or absent; the dispatcher removes
 * it once GitHub has it (or it can never be delivered).
 */
export function reportQueueDir(p: BuildPaths): string {
  return join(p.root, 'reports', 'queue');
}

let seq = 0;

/** Id: UTC time to the millisecond, a per-process counter (order within one millisecond), pid, 3 random bytes. */
function newReportId(now: Date): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  seq = (seq + 1) % 1_000_000;
  return `${t}-${String(seq).padStart(6, '0')}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/**
 * Queues `event` for the GitHub reporter. Never throws and never waits on the network: a
 * reporting problem (full disk, unwritable state dir) must not fail a build, so it costs one
 * line on stderr and the report is lost.
 */
export function queueReport(p: BuildPaths, event: ReportEvent, now = new Date()): void {
  try {
    const dir = reportQueueDir(p);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const id = newReportId(now);
    const record: QueuedReport = { id, queuedAt: now.toISOString(), event };
    const tmp = join(dir, `.${id}.tmp`);
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, `${id}.json`));
    syncDir(dir);
  } catch (e) {
    try {
      const what = 'dist' in event ? `${event.component} ${event.version} ${event.dist}` : issueKey(event);
      process.stderr.write(`qbuild: build: report ${event.kind} ${what} not queued: ${oneLine(e)}\n`);
    } catch { /* stderr gone: nothing more to do */ }
  }
}

/** A queue entry read back: the parsed record, or why its file is unusable. */
export type QueueEntry = { file: string; report: QueuedReport } | { file: string; bad: string };

/** The queued reports, oldest first. Temp files (a crash mid-write) are skipped and left to `sweepTemp`. */
export function listQueued(p: BuildPaths): QueueEntry[] {
  const dir = reportQueueDir(p);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const file = join(dir, name);
    try {
      return { file, report: parseQueued(readFileSync(file, 'utf8'), name.slice(0, -'.json'.length)) };
    } catch (e) {
      return { file, bad: oneLine(e) };
    }
  });
}

/** Removes a delivered (or undeliverable) report; a failure only means it is sent again (idempotent). */
export function removeQueued(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch { /* delivered twice at worst: the reporter finds its marker */ }
}

/** Removes temp files older than a minute: left by a crash between create and rename. */
export function sweepTemp(p: BuildPaths, now = Date.now()): void {
  const dir = reportQueueDir(p);
  try {
    for (const n of readdirSync(dir)) {
      if (!n.endsWith('.tmp')) continue;
      const file = join(dir, n);
      if (now - statSync(file).mtimeMs > 60_000) rmSync(file, { force: true });
    }
  } catch { /* no queue dir yet, or a temp file just renamed */ }
}

const KINDS = new Set(['build-started', 'built', 'build-failed', 'uploaded', 'upload-failed', 'announce']);
const IMAGE_KINDS = new Set(['image-building', 'image-built', 'image-build-failed', 'image-uploaded', 'image-upload-failed']);
const REPOS = new Set(['current-testing', 'current', 'security-testing']);

function str(o: Record<string, unknown>, k: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v === '') throw new Error(`field ${k} is not a non-empty string`);
  return v;
}

/** A stored log path: '' when the logs VM did not confirm the log (the report then has no link). */
function logPath(o: Record<string, unknown>): string {
  if (typeof o.logPath !== 'string') throw new Error('field logPath is not a string');
  return o.logPath;
}

function strings(o: Record<string, unknown>, k: string): string[] {
  const v = o[k];
  if (!Array.isArray(v) || !v.every((l) => typeof l === 'string')) throw new Error(`field ${k} is not a list of strings`);
  return v as string[];
}

function parseChanges(v: unknown): IssueChanges {
  if (typeof v !== 'object' || v === null) throw new Error('field changes is not an object');
  const c = v as Record<string, unknown>;
  if (typeof c.previous !== 'string') throw new Error('field previous is not a string');
  return { gitUrl: str(c, 'gitUrl'), previous: c.previous, shortlog: strings(c, 'shortlog'), issues: strings(c, 'issues') };
}

/**
 * An image's event (events.ts ImageEvent). Rule: `image` template or iso, `name`, `version`,
 * `release` non-empty strings (the ISO's name is `iso`); `logPath` a string except on
 * building; `tail` a list of strings on the failures; `repository` one of upstream's image
 * repositories on the uploads.
 */
function parseImageEvent(kind: string, e: Record<string, unknown>): ImageEvent {
  const image = str(e, 'image');
  if (image !== 'template' && image !== 'iso') throw new Error(`unknown image ${image}`);
  const ref = { image, name: str(e, 'name'), version: str(e, 'version'), release: str(e, 'release') } as const;
  if (image === 'iso' && ref.name !== 'iso') throw new Error('the ISO\'s name is not iso');
  const repository = (): ImageRepository => {
    const r = str(e, 'repository');
    if (!(IMAGE_REPOSITORIES as readonly string[]).includes(r)) throw new Error(`unknown image repository ${r}`);
    return r as ImageRepository;
  };
  switch (kind) {
    case 'image-building': return { kind, ...ref };
    case 'image-built': return { kind, ...ref, logPath: logPath(e) };
    case 'image-build-failed': return { kind, ...ref, logPath: logPath(e), tail: strings(e, 'tail') };
    case 'image-uploaded': return { kind, ...ref, repository: repository(), logPath: logPath(e) };
    default: return { kind: 'image-upload-failed', ...ref, repository: repository(), logPath: logPath(e), tail: strings(e, 'tail') };
  }
}

/**
 * Parses a queue file. Rule: a JSON object with `id` equal to its file name, `queuedAt`, and an
 * `event` of a known kind whose fields all are non-empty strings (`logPath` may be empty; `tail`: a list of strings;
 * `changes`, optional on build-started: gitUrl, previous, shortlog and issues; announce: a
 * repository current-testing or current, `issue` a positive integer, `previous` and `commit`);
 * image events as parseImageEvent says; anything else is dropped by the dispatcher with one line (the file was not written by us).
 */
export function parseQueued(text: string, id: string): QueuedReport {
  const o = JSON.parse(text) as unknown;
  if (typeof o !== 'object' || o === null) throw new Error('not a JSON object');
  const r = o as Record<string, unknown>;
  if (r.id !== id) throw new Error('id does not match its file name');
  const queuedAt = str(r, 'queuedAt');
  const ev = r.event;
  if (typeof ev !== 'object' || ev === null) throw new Error('no event');
  const e = ev as Record<string, unknown>;
  const kind = str(e, 'kind');
  if (IMAGE_KINDS.has(kind)) return { id, queuedAt, event: parseImageEvent(kind, e) };
  if (!KINDS.has(kind)) throw new Error(`unknown event kind ${kind}`);
  const base = { component: str(e, 'component'), version: str(e, 'version'), release: str(e, 'release'), dist: str(e, 'dist') };
  let event: ReportEvent;
  switch (kind) {
    case 'build-started': {
      event = { kind, ...base, commit: str(e, 'commit') };
      if (e.changes !== undefined) event.changes = parseChanges(e.changes);
      break;
    }
    case 'built': event = { kind, ...base, logPath: logPath(e) }; break;
    case 'build-failed': {
      event = { kind, ...base, logPath: logPath(e), tail: strings(e, 'tail') };
      break;
    }
    case 'announce': {
      const repository = str(e, 'repository');
      if (repository !== 'current-testing' && repository !== 'current') throw new Error(`repository ${repository} is not announced`);
      const issue = e.issue;
      if (typeof issue !== 'number' || !Number.isSafeInteger(issue) || issue < 1) throw new Error('field issue is not a positive integer');
      event = { kind, ...base, repository, issue, previous: str(e, 'previous'), commit: str(e, 'commit'), gitUrl: str(e, 'gitUrl') };
      break;
    }
    default: {
      const repository = str(e, 'repository');
      if (!REPOS.has(repository)) throw new Error(`unknown repository ${repository}`);
      const r = { ...base, repository: repository as 'current-testing' | 'current' | 'security-testing', logPath: logPath(e) };
      event = kind === 'uploaded' ? { kind, ...r } : { kind: 'upload-failed', ...r, tail: strings(e, 'tail') };
    }
  }
  return { id, queuedAt, event };
}
