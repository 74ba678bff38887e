import { release, requeue, running } from '../state/queue.js';
import { saveJob, tryLoadJob } from '../state/job-record.js';
import type { BuildPaths } from '../state/paths.js';

/** A job interrupted this many times (daemon crash or stop mid-run) is not tried again. */
export const MAX_ATTEMPTS = 3;

/**
 * At daemon start: every job still marked running was interrupted (the daemon died or was
 * stopped). Its open stage is recorded as interrupted — the logs VM has already closed that
 * stream as incomplete and published it, since the stream ended without the end marker — and
 * the job goes back to the front of the queue, unless it ran MAX_ATTEMPTS times or a newer
 * job for the component waits. Repositories need no repair: a swap is atomic.
 */
export function recoverInterrupted(p: BuildPaths, say: (line: string) => void): void {
  for (const { component, id } of running(p)) {
    const job = tryLoadJob(p, id);
    if (!job) {
      release(p, component);
      continue;
    }
    for (const s of job.stages) {
      if (s.status !== 'running') continue;
      s.status = 'failed';
      s.reason = 'interrupted: the build daemon stopped during this stage (its log was closed as incomplete by the logs VM)';
      s.endedAt = new Date().toISOString();
    }
    if (job.attempt >= MAX_ATTEMPTS) {
      Object.assign(job, { state: 'failed', reason: `interrupted ${job.attempt} times; not retried`, finishedAt: new Date().toISOString() });
      saveJob(p, job);
      release(p, component);
      say(`${id}: interrupted ${job.attempt} times, given up`);
      continue;
    }
    job.attempt += 1;
    job.state = 'queued';
    saveJob(p, job);
    if (requeue(p, component)) {
      say(`${id}: interrupted; queued again (attempt ${job.attempt})`);
    } else {
      Object.assign(job, { state: 'failed', reason: 'interrupted; a newer job for this component runs instead', finishedAt: new Date().toISOString() });
      saveJob(p, job);
      say(`${id}: interrupted; a newer job for ${component} waits`);
    }
  }
}
