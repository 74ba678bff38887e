import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Records of the process groups local runs are using, so that a build daemon restarted after
 * a crash (or a SIGKILL) can kill what its predecessor left running: a recipe runs in its own
 * session and does not die with the daemon. One file per group, `<dir>/<pgid>`, holding the
 * boot id and the leader's start time (clock ticks since boot, /proc/PID/stat field 22).
 */
export class RunRecords {
  constructor(private readonly dir: string) {}

  add(pgid: number): void {
    const start = startTime(pgid);
    if (start === undefined) return; // already gone: nothing can be left over
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.dir, String(pgid)), `${bootId()} ${start}\n`, { mode: 0o600 });
  }

  remove(pgid: number): void {
    rmSync(join(this.dir, String(pgid)), { force: true });
  }

  /**
   * Kills every recorded group that is still ours and forgets all records; returns how many
   * groups were signalled. Rule: a record from another boot names nobody; a live process with
   * the group's number is the leader only if its start time matches; with the leader gone,
   * the number cannot have been reused while any member of the group lives, so the group is
   * still ours.
   */
  reap(): number {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return 0; }
    let killed = 0;
    for (const name of names) {
      const file = join(this.dir, name);
      const pgid = Number(name);
      const [boot, start] = safeRead(file).trim().split(' ');
      rmSync(file, { force: true });
      if (!/^[1-9][0-9]{0,9}$/.test(name) || boot !== bootId()) continue;
      const now = startTime(pgid);
      if (now !== undefined && now !== start) continue;
      try {
        process.kill(-pgid, 'SIGKILL');
        killed++;
      } catch { /* no such group any more */ }
    }
    return killed;
  }
}

function safeRead(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

function bootId(): string {
  return safeRead('/proc/sys/kernel/random/boot_id').trim();
}

/** Field 22 of /proc/PID/stat (after the parenthesised name, which may hold spaces), or undefined. */
function startTime(pid: number): string | undefined {
  const stat = safeRead(`/proc/${pid}/stat`);
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  return stat.slice(close + 2).split(' ')[19];
}
