import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildPaths } from './paths.js';

/** How many finished jobs keep the build VM's own copy of their stage logs. */
export const LOCAL_LOGS_KEPT = 50;

/**
 * Removes the build VM's own copies of stage logs (`build/jobs/<id>/`) of all but the newest
 * `keep` jobs: they only serve `qbuild build --follow`, the evidence is in the logs VM, and a
 * chatty recipe's copy can be gigabytes. Job records themselves are kept. Rule: a job's dir
 * is removed only if `isActive(id)` is false (never the log a follower may still read).
 */
export function pruneLocalLogs(p: BuildPaths, isActive: (id: string) => boolean, keep = LOCAL_LOGS_KEPT): number {
  let dirs: string[];
  try {
    dirs = readdirSync(p.jobs).filter((n) => !n.endsWith('.json') && !n.endsWith('.tmp') && statSync(join(p.jobs, n)).isDirectory()).sort();
  } catch {
    return 0;
  }
  let removed = 0;
  for (const id of dirs.slice(0, Math.max(0, dirs.length - keep))) {
    if (isActive(id)) continue;
    rmSync(join(p.jobs, id), { recursive: true, force: true });
    removed++;
  }
  return removed;
}
