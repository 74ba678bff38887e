import { closeSync, openSync, readSync } from 'node:fs';
import { isFinal, tryLoadJob, type JobRecord } from './state/job-record.js';
import type { BuildPaths } from './state/paths.js';

export interface FollowOptions {
  /** Also copy each stage's live log to `out` as it grows. */
  tail: boolean;
  out: (s: string) => void;
  pollMs?: number;
  /** Give up waiting for the daemon to pick the job up after this long (no daemon running). */
  startTimeoutMs?: number;
}

/** Reads what was appended to `path` since `offset`. */
function readFrom(path: string, offset: number): Buffer {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return Buffer.alloc(0); }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(65536);
    for (let pos = offset; ;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows job `id` until it ends: one line per stage as it starts and ends (with the path the
 * logs VM stored its log under) and, with `tail`, the stage's log as it grows. Resolves to
 * the final record.
 */
export async function followJob(p: BuildPaths, id: string, o: FollowOptions): Promise<JobRecord | undefined> {
  const pollMs = o.pollMs ?? 200;
  const seen = new Map<string, { started: boolean; ended: boolean; offset: number }>();
  const t0 = Date.now();
  let announcedWait = false;
  for (;;) {
    const job = tryLoadJob(p, id);
    if (!job) return undefined;
    if (job.state === 'queued' && !announcedWait) {
      o.out(`queued as job ${id}${job.attempt > 1 ? ` (attempt ${job.attempt})` : ''}; waiting for the build daemon\n`);
      announcedWait = true;
    }
    if (job.state === 'queued' && o.startTimeoutMs !== undefined && Date.now() - t0 > o.startTimeoutMs) return job;
    for (const s of job.stages) {
      const st = seen.get(s.name) ?? { started: false, ended: false, offset: 0 };
      seen.set(s.name, st);
      if (!st.started) {
        o.out(`stage ${s.name}: running (live: ${s.localLog})\n`);
        st.started = true;
      }
      if (o.tail) {
        const more = readFrom(s.localLog, st.offset);
        st.offset += more.length;
        if (more.length) o.out(more.toString('utf8'));
      }
      if (!st.ended && s.status !== 'running') {
        o.out(`stage ${s.name}: ${s.status}${s.log ? `, log ${s.log}` : ''}${s.reason ? `: ${s.reason}` : ''}\n`);
        st.ended = true;
      }
    }
    if (isFinal(job.state)) return job;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
