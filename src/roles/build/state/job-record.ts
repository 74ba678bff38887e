import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { Command } from '../../../protocol/github/command/grammar.js';
import { writeAtomically } from '../../../util/durable-file.js';
import type { BuildPaths } from './paths.js';

export type JobState = 'queued' | 'running' | 'ok' | 'failed' | 'refused' | 'skipped';

/** True once a job will not change again. */
export function isFinal(s: JobState): boolean {
  return s !== 'queued' && s !== 'running';
}

export interface StageRecord {
  name: string;
  status: 'running' | 'ok' | 'failed';
  startedAt: string;
  endedAt?: string;
  /** Where the logs VM stored this stage's log (known once the stream ended). */
  log?: string;
  /** The build VM's own copy of the log (for `qbuild build --follow`). */
  localLog: string;
  reason?: string;
}

/** An accepted signed GitHub command (docs/commands.md), as its job runs it. */
export interface CommandJob {
  /** The signed line, as signed. */
  line: string;
  /** What runs: the parsed line, Upload-component's `all` replaced by the granted dists. */
  command: Command;
  /** The signer's primary key fingerprint. */
  signer: string;
  /** SHA-256 of the signature packet (its replay-store name). */
  digest: string;
}

export interface JobRecord {
  id: string;
  /** `command`: a signed GitHub command job; absent: a component build. */
  kind?: 'command';
  command?: CommandJob;
  /** The component built; for a command job what it acts on (component, template, or `iso`): its stage logs' sub-directory. */
  component: string;
  /** Who asked: a qube (TriggerBuild caller) or `local` (qbuild build). */
  from: string;
  queuedAt: string;
  state: JobState;
  /** 1 for the first run; a run interrupted by a daemon crash is retried with attempt + 1. */
  attempt: number;
  stages: StageRecord[];
  version?: string;
  commit?: string;
  reason?: string;
  finishedAt?: string;
}

/** Writes the record durably (fsync, rename, fsync dir): a crash leaves the old or the new one. */
export function saveJob(p: BuildPaths, job: JobRecord): void {
  mkdirSync(dirname(p.job(job.id)), { recursive: true, mode: 0o700 });
  writeAtomically(p.job(job.id), `${JSON.stringify(job, null, 1)}\n`, 0o600, `${p.job(job.id)}.${process.pid}.tmp`);
}

export function loadJob(p: BuildPaths, id: string): JobRecord {
  try {
    return JSON.parse(readFileSync(p.job(id), 'utf8')) as JobRecord;
  } catch (e) {
    throw new QbuildError('io', `cannot read job ${id}: ${(e as Error).message}`);
  }
}

export function tryLoadJob(p: BuildPaths, id: string): JobRecord | undefined {
  try {
    return JSON.parse(readFileSync(p.job(id), 'utf8')) as JobRecord;
  } catch {
    return undefined;
  }
}

/** Every job record, oldest first (ids start with their UTC enqueue time). */
export function listJobs(p: BuildPaths): JobRecord[] {
  let names: string[];
  try {
    names = readdirSync(p.jobs).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((n) => tryLoadJob(p, n.slice(0, -'.json'.length))).filter((j): j is JobRecord => j !== undefined);
}
