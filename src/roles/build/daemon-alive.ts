import { readFileSync } from 'node:fs';
import type { BuildPaths } from './state/paths.js';

/** Whether the build daemon whose pid file is in `p` is running. */
export function daemonAlive(p: BuildPaths): boolean {
  try {
    const pid = Number(readFileSync(p.daemonPid, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
