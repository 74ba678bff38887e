import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlannedVm } from '../../plan/plan.js';
import { layQube } from './materialise.js';
import { simPaths } from './layout.js';

/** Present in a disposable's directory, naming its template: what `sim status` lists. */
export const DISPOSABLE_MARKER = 'disposable';

/**
 * A disposable qube for one call to `@dispvm:T`, as Qubes makes one: a fresh qube directory
 * `qubes/dispN` (N 1000-9999, one not in use) laid out from T's files in the formula (its
 * home files, config and rpc stubs, as materialise lays out a planned qube), with an empty
 * state. Nothing of an earlier disposable or of T's own directory is in it. Returns its name.
 */
export function makeDisposable(formula: string, template: PlannedVm): string {
  const paths = simPaths(formula);
  for (let tries = 0; ; tries++) {
    const name = `disp${1000 + Math.floor(Math.random() * 9000)}`;
    const q = paths.qube(name);
    if (existsSync(q.dir)) {
      if (tries > 100) throw new Error('no free disposable name');
      continue;
    }
    layQube(formula, template, q);
    writeFileSync(join(q.dir, DISPOSABLE_MARKER), `${template.name}\n`);
    return name;
  }
}

/**
 * Destroys a disposable: every process still working inside its directory (its cwd there, as
 * whatever a recipe left running would have) is killed, then the directory is removed, so
 * nothing written in it reaches a later call.
 */
export function destroyDisposable(formula: string, name: string): void {
  const dir = simPaths(formula).qube(name).dir;
  for (const pid of processesIn(dir)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Live disposables (name and template), for `sim status`. */
export function liveDisposables(formula: string): { name: string; template: string }[] {
  const root = join(formula, 'qubes');
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => /^disp\d+$/.test(n) && existsSync(join(root, n, DISPOSABLE_MARKER))).map((name) => ({
    name, template: readFileSync(join(root, name, DISPOSABLE_MARKER), 'utf8').trim(),
  }));
}

function processesIn(dir: string): number[] {
  let pids: string[];
  try { pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return []; }
  return pids.flatMap((p) => {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      return cwd === dir || cwd.startsWith(`${dir}/`) ? [Number(p)] : [];
    } catch { return []; }
  }).filter((pid) => pid !== process.pid);
}
