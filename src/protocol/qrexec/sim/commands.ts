import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { pollUntil } from '../../../util/poll.js';
import { checkVmName, parseServiceFullName } from '../names.js';
import { EXIT_PROBLEM } from '../exit-codes.js';
import { runSimCall } from '../transport-sim.js';
import type { Plan } from '../../plan/plan.js';
import { simBinary } from './binary.js';
import { daemonStatus, formatStatus, type DaemonStatus } from './daemon-status.js';
import { firstBoot, type SimPorts } from './first-boot.js';
import { forward } from './forward.js';
import { simPaths } from './layout.js';
import { materialise } from './materialise.js';
import { liveDisposables } from './disposable.js';
import { readPlan } from './plan-file.js';
import { Router } from './router.js';

function routerPid(formula: string): number | undefined {
  const f = simPaths(formula).routerPid;
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  try { process.kill(pid, 0); return pid; } catch { return undefined; }
}

/** Polls `check` every 25 ms for up to `ms`; whether it came true. */
async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  return (await pollUntil(() => check() || undefined, ms, 25)) === true;
}

/** `sim up`: lays out the qubes and starts the router (in the background unless --foreground). */
export async function simUp(formulaArg: string, opts: { foreground: boolean; daemons: boolean; ports?: SimPorts }): Promise<number> {
  const formula = resolve(formulaArg);
  const plan = readPlan(formula);
  if (routerPid(formula)) throw new QbuildError('usage', `a simulator is already running for ${formula} (qbuild sim down first)`);
  materialise(formula, plan);
  const notes = firstBoot(formula, plan, opts.ports);
  const paths = simPaths(formula);
  rmSync(paths.ready, { force: true });
  for (const n of notes) process.stdout.write(`${n}\n`);
  if (opts.foreground) return simRouter(formula, opts.daemons);
  const logFrom = existsSync(paths.routerLog) ? statSync(paths.routerLog).size : 0;
  const bin = simBinary();
  const log = openSync(paths.routerLog, 'a');
  const child = spawn(bin, ['sim', 'router', '--formula', formula, ...(opts.daemons ? [] : ['--no-daemons'])], {
    detached: true, stdio: ['ignore', log, log], env: { ...process.env, QBUILD_BIN: bin },
  });
  child.unref();
  if (!(await waitFor(() => existsSync(paths.ready), 15000))) {
    throw new QbuildError('io', `the simulator did not start: see ${paths.routerLog}`);
  }
  const daemons = opts.daemons ? await settled(formula, plan, logFrom) : [];
  const failed = daemons.filter((d) => d.exits > 0);
  if (failed.length) {
    await simDown(formula, true);
    const f = failed[0]!;
    throw new QbuildError('io', `${f.vm}: ${f.argv.join(' ')} exited at start: ${f.lastLine || '(no output)'} (simulator stopped; ${simPaths(formula).qube(f.vm).log})`);
  }
  process.stdout.write(`simulator up: ${formula} (router pid ${child.pid})\n`);
  for (const vm of plan.vms) {
    const d = vm.daemons.map((a) => a.join(' ')).join('; ');
    const at = daemons.filter((s) => s.vm === vm.name).flatMap((s) => s.listening);
    process.stdout.write(`  ${vm.name.padEnd(16)} ${vm.role.padEnd(7)} services: ${vm.services.join(', ') || '-'}${d ? `  daemons: ${d}` : ''}${at.length ? `  (${at.join(', ')})` : ''}\n`);
  }
  return 0;
}

/** How long `sim up` watches the daemons: one that cannot start has exited by then. */
const SETTLE_MS = 2000;

/** The daemons' status after SETTLE_MS, or as soon as one has exited. */
async function settled(formula: string, plan: Plan, logFrom: number): Promise<DaemonStatus[]> {
  await waitFor(() => daemonStatus(formula, plan, logFrom).some((d) => d.exits > 0), SETTLE_MS);
  return daemonStatus(formula, plan, logFrom);
}

/** `sim status`: each planned daemon (running pid or not, restarts, its qube's last log line). */
export function simStatus(formulaArg: string): number {
  const formula = resolve(formulaArg);
  const plan = readPlan(formula);
  const pid = routerPid(formula);
  process.stdout.write(pid ? `simulator running: ${formula} (router pid ${pid})\n` : `simulator not running: ${formula} (qbuild sim up --formula ${formulaArg})\n`);
  for (const d of daemonStatus(formula, plan)) process.stdout.write(`  ${formatStatus(d).replace(/\n/g, '\n  ')}\n`);
  for (const d of liveDisposables(formula)) process.stdout.write(`  disposable ${d.name} (of ${d.template}): serving a call\n`);
  return 0;
}

/** `sim router`: the router process itself; runs until SIGTERM/SIGINT. */
export async function simRouter(formulaArg: string, daemons = true): Promise<number> {
  const formula = resolve(formulaArg);
  const plan = readPlan(formula);
  const paths = simPaths(formula);
  const router = new Router(formula, plan, simBinary());
  await router.listen();
  if (daemons) router.startDaemons();
  writeFileSync(paths.routerPid, `${process.pid}\n`);
  writeFileSync(paths.ready, `${new Date().toISOString()}\n`);
  router.log(`router up (pid ${process.pid})`);
  await new Promise<void>((done) => {
    const stop = () => { router.stop().then(done, done); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  rmSync(paths.ready, { force: true });
  rmSync(paths.routerPid, { force: true });
  router.log('router down');
  return 0;
}

/** `sim down`: stops the router, which stops the daemons; qube state stays on disk. */
export async function simDown(formulaArg: string, quiet = false): Promise<number> {
  const formula = resolve(formulaArg);
  const pid = routerPid(formula);
  if (!pid) { if (!quiet) process.stdout.write(`no simulator running for ${formula}\n`); return 0; }
  process.kill(pid, 'SIGTERM');
  const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
  if (!(await waitFor(() => !alive(), 10000))) process.kill(pid, 'SIGKILL');
  if (!quiet) process.stdout.write(`simulator down: ${formula}\n`);
  return 0;
}

/**
 * `sim call`, `halt` and `start` need a running simulator: without one there is no router to
 * call through and no qube directory to mark (exit 125, as qrexec with no daemon).
 */
function checkRunning(formula: string): void {
  if (!routerPid(formula)) throw new QbuildError('io', `no simulator running for ${formula}: run qbuild sim up --formula ${formula} first`, EXIT_PROBLEM);
}

/** A qube named on the command line (`--from`, `halt VM`) must be one the plan has. */
function knownQube(formula: string, plan: Plan, vm: string): void {
  if (!plan.vms.some((v) => v.name === vm)) throw new QbuildError('usage', `no such qube ${vm} in ${formula}`);
}

/** `sim call --from VM TARGET SERVICE[+ARG]`: a call as that qube would make it; stdio piped. */
export async function simCall(formulaArg: string, from: string | undefined, rest: string[]): Promise<number> {
  if (!from) throw new QbuildError('usage', 'sim call needs --from VM');
  if (rest.length < 2) throw new QbuildError('usage', 'sim call needs TARGET SERVICE[+ARG]');
  if (rest.length > 2) throw new QbuildError('usage', `sim call takes TARGET SERVICE[+ARG]; too many arguments: ${rest.slice(2).join(' ').slice(0, 80)}`);
  const formula = resolve(formulaArg);
  const [target, full] = rest as [string, string];
  const { service, argument } = parseServiceFullName(full);
  checkRunning(formula);
  knownQube(formula, readPlan(formula), from);
  // Straight from our stdin to the service's stdin channel and from its stdout channel to our
  // stdout: no PassThrough in between, pause only when a lot is queued (see forward()).
  const code = await runSimCall(simPaths(formula).qube(checkVmName(from)).socket, { target, service, argument }, {
    started: (inSock, outSock) => {
      forward(process.stdin, inSock, { end: true });
      forward(outSock, process.stdout, { end: false });
    },
    stderr: (b) => process.stderr.write(b),
  });
  process.stdin.destroy();
  return code;
}

/** `sim halt VM` / `sim start VM`: a halted qube fails every call to it, as one that won't start. */
export async function simPower(formulaArg: string, vm: string | undefined, halt: boolean): Promise<number> {
  if (!vm) throw new QbuildError('usage', `sim ${halt ? 'halt' : 'start'} needs a VM name`);
  const formula = resolve(formulaArg);
  const plan = readPlan(formula);
  knownQube(formula, plan, vm);
  checkRunning(formula);
  const marker = simPaths(formula).qube(vm).halted;
  if (halt) writeFileSync(marker, ''); else rmSync(marker, { force: true });
  return 0;
}
