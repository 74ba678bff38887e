import { mkdirSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { oneLine } from '../../../errors.js';
import type { Transport } from '../../../protocol/qrexec/transport.js';
import { writeAtomically } from '../../../util/durable-file.js';
import type { Executor } from '../executor/executor.js';
import { runCommandJob } from '../commands/run-command-job.js';
import { runJob } from '../pipeline/run-job.js';
import type { BuildConfig } from '../pipeline/types.js';
import { saveJob, tryLoadJob } from '../state/job-record.js';
import type { BuildPaths } from '../state/paths.js';
import { startReporting } from '../report/start.js';
import { pruneLocalLogs } from '../state/prune.js';
import { isCommandMarker, release, running, take, waiting } from '../state/queue.js';
import { recoverInterrupted } from './recover.js';

export interface BuildDaemonOptions {
  config: BuildConfig;
  paths: BuildPaths;
  transport: Transport;
  executor: Executor;
  /** Kills recipe processes a crashed predecessor left running (the local executor's records). */
  reapLeftovers?: () => number;
  env: NodeJS.ProcessEnv;
  qbuildBin: string;
  /** Pipelines running at once (different components); one per component always. */
  concurrency: number;
  say(line: string): void;
}

export interface BuildDaemon { stop(): Promise<void> }

/**
 * `qbuild role build --serve`: runs queued jobs. Rules: one pipeline per component at a time
 * (a trigger meanwhile waits as the next job); a command job runs alone; at most `concurrency` pipelines; jobs start in
 * enqueue order; the queue is re-read when it changes and every second (a watch can miss
 * events). Stopping aborts running jobs, which stay marked running and are resumed by the
 * next start (recoverInterrupted), exactly as after a crash.
 */
export async function serveBuild(o: BuildDaemonOptions): Promise<BuildDaemon> {
  for (const d of [o.paths.queue, o.paths.running, o.paths.jobs]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const leftovers = o.reapLeftovers?.() ?? 0;
  if (leftovers) o.say(`killed ${leftovers} recipe process group(s) a previous daemon left running`);
  recoverInterrupted(o.paths, o.say);
  writeAtomically(o.paths.daemonPid, `${process.pid}\n`);
  // Reports go out beside the builds, never in their way (docs/reports.md).
  const reports = startReporting(o.config, o.paths, o.say);
  const abort = new AbortController();
  const active = new Map<string, Promise<void>>();
  let stopped = false;

  const runOne = async (component: string, id: string): Promise<void> => {
    const job = tryLoadJob(o.paths, id);
    if (!job) {
      // A marker whose record is unreadable can never run: drop it rather than block the component.
      o.say(`${id}: job record unreadable; dropped`);
      release(o.paths, component);
      return;
    }
    job.state = 'running';
    saveJob(o.paths, job);
    o.say(`${id}: started (${component}, attempt ${job.attempt})`);
    try {
      const deps = {
        config: o.config, paths: o.paths, transport: o.transport, env: o.env, qbuildBin: o.qbuildBin,
        executor: o.executor, signal: abort.signal, say: o.say,
      };
      const state = job.kind === 'command' ? await runCommandJob(job, deps) : await runJob(job, deps);
      if (state === 'interrupted') {
        o.say(`${id}: interrupted by the daemon stopping; resumes at next start`);
        return;
      }
      o.say(`${id}: ${state}${job.reason ? `: ${job.reason}` : ''}`);
    } catch (e) {
      // runJob records stage failures itself; anything reaching here is a bug, still recorded.
      Object.assign(job, { state: 'failed', reason: `internal error: ${oneLine(e)}`, finishedAt: new Date().toISOString() });
      saveJob(o.paths, job);
      o.say(`${id}: failed: ${oneLine(e)}`);
    }
    release(o.paths, component);
    const busy = new Set([...running(o.paths), ...waiting(o.paths)].map((j) => j.id));
    pruneLocalLogs(o.paths, (jobId) => busy.has(jobId));
  };

  const kick = (): void => {
    if (stopped) return;
    for (const w of waiting(o.paths)) {
      if (active.size >= o.concurrency) return;
      // A command job (docs/commands.md) moves packages between repositories that builds
      // publish into: it runs alone, and nothing queued after it starts before it.
      if ([...active.keys()].some(isCommandMarker)) return;
      if (isCommandMarker(w.component) && active.size > 0) return;
      if (active.has(w.component) || !take(o.paths, w.component)) continue;
      const p = runOne(w.component, w.id).catch((e) => o.say(`${w.id}: ${oneLine(e)}`)).finally(() => {
        active.delete(w.component);
        setImmediate(kick);
      });
      active.set(w.component, p);
    }
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(o.paths.queue, () => kick());
    watcher.on('error', () => { watcher?.close(); watcher = undefined; });
  } catch {
    watcher = undefined; // polling alone still finds every job
  }
  const timer = setInterval(kick, 1000);
  kick();
  o.say(`build daemon up (pid ${process.pid}): ${o.config.components.length} components, dists ${o.config.dists.map((d) => d.name).join(', ') || '-'}`);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
      abort.abort();
      await Promise.all(active.values());
      await reports?.stop();
      rmSync(o.paths.daemonPid, { force: true });
    },
  };
}
