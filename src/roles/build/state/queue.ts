import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { syncDir } from '../../../util/durable-file.js';
import { saveJob, tryLoadJob, type CommandJob, type JobRecord } from './job-record.js';
import type { BuildPaths } from './paths.js';

/** A job id: UTC enqueue time to the millisecond, component, 4 random bytes; sorts by enqueue time. */
function newJobId(component: string, now: Date): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${t}-${component}-${randomBytes(4).toString('hex')}`;
}

/** Writes `data` to `path` only if `path` does not exist, durably and atomically (link(2) of a synced temp file). */
function createExclusive(path: string, data: string): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function readMarker(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Enqueued { id: string; coalesced: boolean }

/**
 * Queues a build of `component`, durably (fsynced) before returning. Rule: at most one job
 * waits per component; a trigger while one waits joins it (`coalesced`), so the same trigger
 * twice builds once. A trigger while a job runs queues one more run after it (the source may
 * have changed since that run fetched it).
 */
export function enqueue(p: BuildPaths, component: string, from: string, now = new Date()): Enqueued {
  try {
    for (const d of [p.queue, p.running, p.jobs]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const marker = join(p.queue, component);
    const waiting = readMarker(marker);
    if (waiting && tryLoadJob(p, waiting)) return { id: waiting, coalesced: true };
    if (waiting) rmSync(marker, { force: true }); // a marker whose record is gone: replace it
    const job: JobRecord = { id: newJobId(component, now), component, from, queuedAt: now.toISOString(), state: 'queued', attempt: 1, stages: [] };
    saveJob(p, job);
    if (!createExclusive(marker, `${job.id}\n`)) {
      // Another trigger queued it between our read and our link: join that one.
      rmSync(p.job(job.id), { force: true });
      const other = readMarker(marker);
      if (other) return { id: other, coalesced: true };
      throw new QbuildError('io', `queue marker ${marker} vanished while queuing`);
    }
    syncDir(p.queue);
    return { id: job.id, coalesced: false };
  } catch (e) {
    if (e instanceof QbuildError) throw e;
    throw new QbuildError('io', `cannot queue ${component} in ${p.queue}: ${(e as Error).message}`);
  }
}

/** The markers in `dir` (component → job id), oldest job first; temp files and empty markers skipped. */
function markers(dir: string): { component: string; id: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => !n.endsWith('.tmp'));
  } catch {
    return [];
  }
  return names.map((component) => ({ component, id: readMarker(join(dir, component)) ?? '' }))
    .filter((w) => w.id).sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Components with a waiting job, oldest job first. */
export function waiting(p: BuildPaths): { component: string; id: string }[] {
  return markers(p.queue);
}

/** Components whose job is running (or was, when the daemon died). */
export function running(p: BuildPaths): { component: string; id: string }[] {
  return markers(p.running);
}

/** Moves a component's waiting job to running (rename: atomic); false if none waits or one runs. */
export function take(p: BuildPaths, component: string): boolean {
  const to = join(p.running, component);
  if (readMarker(to)) return false;
  try {
    renameSync(join(p.queue, component), to);
  } catch {
    return false;
  }
  syncDir(p.running);
  syncDir(p.queue);
  return true;
}

/** The job ended: its running marker goes. */
export function release(p: BuildPaths, component: string): void {
  rmSync(join(p.running, component), { force: true });
  syncDir(p.running);
}

/**
 * Puts an interrupted job back in front of the queue (a daemon restart). Rule: if a newer job
 * already waits for that component, the newer one runs instead and the interrupted one ends.
 */
export function requeue(p: BuildPaths, component: string): boolean {
  const from = join(p.running, component);
  const marker = join(p.queue, component);
  if (readMarker(marker)) {
    release(p, component);
    return false;
  }
  renameSync(from, marker);
  syncDir(p.queue);
  syncDir(p.running);
  return true;
}

/** Queue markers of command jobs start with this: `.` is never in a component name, so a command never joins a build's marker. */
export const COMMAND_MARKER = 'command.';

export const isCommandMarker = (name: string): boolean => name.startsWith(COMMAND_MARKER);

/**
 * Queues an accepted command as its own job, durably (fsynced) before returning. Rule:
 * commands never coalesce (each signed command runs once); the marker `command.<job id>`
 * keeps them in acceptance order with the builds.
 */
export function enqueueCommand(p: BuildPaths, subject: string, from: string, command: CommandJob, now = new Date()): string {
  try {
    for (const d of [p.queue, p.running, p.jobs]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const job: JobRecord = { id: newJobId('command', now), kind: 'command', command, component: subject, from, queuedAt: now.toISOString(), state: 'queued', attempt: 1, stages: [] };
    saveJob(p, job);
    if (!createExclusive(join(p.queue, `${COMMAND_MARKER}${job.id}`), `${job.id}\n`)) throw new QbuildError('io', `command job ${job.id} queued twice`);
    syncDir(p.queue);
    return job.id;
  } catch (e) {
    if (e instanceof QbuildError) throw e;
    throw new QbuildError('io', `cannot queue the command in ${p.queue}: ${(e as Error).message}`);
  }
}
