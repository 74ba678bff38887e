import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../plan/plan.js';
import { simPaths } from './layout.js';

/** One planned daemon as the router's log and pid files show it. */
export interface DaemonStatus {
  vm: string;
  argv: string[];
  /** Its pid while it runs. */
  pid: number | undefined;
  /** Times it exited since the router started (each one restarted, with back-off). */
  exits: number;
  /** The last line the qube's daemons wrote (daemons.log), e.g. the error it died with. */
  lastLine: string;
  /** Where this simulated qube's listeners are bound, when its daemon said so. */
  listening: string[];
}

function read(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** The lines of router.log written by the current (or last) router run. */
function currentRun(formula: string, from = 0): string[] {
  const lines = read(simPaths(formula).routerLog).slice(from).split('\n').filter(Boolean);
  // A stopped router's run ends with its own "router down": the run starts after the one before.
  let start = 0;
  lines.slice(0, -1).forEach((l, i) => { if (l.endsWith(' router down')) start = i + 1; });
  return lines.slice(start);
}

/** Each planned daemon's status; `from` skips router.log bytes written before this run. */
export function daemonStatus(formula: string, plan: Plan, from = 0): DaemonStatus[] {
  const paths = simPaths(formula);
  const run = currentRun(formula, from);
  const out: DaemonStatus[] = [];
  for (const vm of plan.vms) {
    const q = paths.qube(vm.name);
    const log = read(q.log).split('\n').filter((l) => l.trim());
    for (const argv of vm.daemons) {
      const exited = ` daemon ${vm.name}: ${argv.join(' ')} exited (`;
      const pidText = read(paths.daemonPid(vm.name, argv)).trim();
      const pid = pidText && alive(Number(pidText)) ? Number(pidText) : undefined;
      out.push({ vm: vm.name, argv, pid, exits: run.filter((l) => l.includes(exited)).length, lastLine: log.at(-1) ?? '', listening: pid ? listeners(q.state, log) : [] });
    }
  }
  return out;
}

/** sys-net's bound address (its state file) and the logs live view (its "serving" line). */
function listeners(state: string, log: string[]): string[] {
  const found: string[] = [];
  const sysnet = join(state, 'sysnet', 'listening');
  if (existsSync(sysnet)) found.push(`webhook http://${read(sysnet).trim()}/`);
  const live = log.filter((l) => l.includes('live view http://')).at(-1);
  const m = live && /live view (http:\/\/\S+)/.exec(live);
  if (m) found.push(`live view ${m[1]}`);
  return found;
}

/** One line per daemon for `sim status`. */
export function formatStatus(s: DaemonStatus): string {
  const state = s.pid ? `running pid ${s.pid}` : 'not running';
  const at = s.listening.length ? `; ${s.listening.join(', ')}` : '';
  return `${s.vm.padEnd(16)} ${s.argv.join(' ').padEnd(22)} ${state}, restarts ${s.exits}${at}${s.lastLine ? `\n${' '.repeat(17)}last: ${s.lastLine}` : ''}`;
}
