import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bound on concurrent qubes.Gpg requests in one keys VM (docs/splitgpg.md): each request
 * is its own process (~40 MB), so a caller opening many and stalling could exhaust memory.
 *
 * Rules: a request registers itself as `<state>/gpg-active/<pid>-<start time>` before it
 * reads anything, then counts the entries whose process is still alive (same pid *and* same
 * start time in /proc, so a reused pid is not mistaken for a holder; entries of dead
 * processes, e.g. after SIGKILL, are removed by whoever sees them). It may go on only if that
 * count, itself included, is at most `max`; otherwise it removes its entry and is refused.
 * Two requests racing for the last place may both be refused; more than `max` are never let
 * through, because the last of them to register would have counted all the others.
 */
export interface GpgSlot { release(): void }

export type SlotResult = { ok: true; slot: GpgSlot } | { ok: false; active: number };

/** `<pid>-<start time>`, plus `-<n>` for each call of the resident keys daemon (one process, many calls). */
const ENTRY_RE = /^([1-9][0-9]{0,9})-([0-9]{1,20})(?:-[0-9]{1,10})?$/;

/** Calls of this process so far (numbers its entries) and the entries it holds (removed at exit). */
let calls = 0;
const held = new Set<string>();
let exitHook = false;

/** Start time of `pid` (clock ticks since boot, /proc/PID/stat field 22), or undefined. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number, started: string, haveProc: boolean): boolean {
  if (haveProc) return startTime(pid) === started;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function takeGpgSlot(state: string, max: number): SlotResult {
  const dir = join(state, 'gpg-active');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const started = startTime(process.pid);
  const me = `${process.pid}-${started ?? '0'}-${++calls}`;
  const path = join(dir, me);
  writeFileSync(path, '', { mode: 0o600 });
  held.add(path);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => { for (const p of held) try { unlinkSync(p); } catch { /* already gone */ } });
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    held.delete(path);
    try { unlinkSync(path); } catch { /* already gone */ }
  };
  let live = 0;
  for (const name of readdirSync(dir)) {
    if (name === me) { live++; continue; }
    const m = ENTRY_RE.exec(name);
    if (!m) continue;
    if (alive(Number(m[1]), m[2]!, started !== undefined)) live++;
    else try { unlinkSync(join(dir, name)); } catch { /* removed by another request */ }
  }
  if (live > max) {
    release();
    return { ok: false, active: live - 1 };
  }
  return { ok: true, slot: { release } };
}
