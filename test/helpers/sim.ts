import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbuildBin, repoRoot } from './binary.js';
import { run, type RunResult } from './run.js';

export interface SimHandle {
  dir: string;
  bin: string;
  qubeDir(vm: string): string;
  stateDir(vm: string): string;
  configPath(vm: string): string;
  /** The environment of a process inside `vm` (what the router gives its services). */
  env(vm: string): NodeJS.ProcessEnv;
  /** A qrexec call as `from` makes it, through the router and the generated policy. */
  call(from: string, target: string, service: string, opts?: { stdin?: Buffer | string }): Promise<RunResult>;
  /** The same call left open (stdin, stdout, stderr piped) for a test that streams, ends or kills it. */
  spawnCall(from: string, target: string, service: string): ChildProcessWithoutNullStreams;
  /** Runs the qbuild binary inside `vm`. */
  run(vm: string, args: string[], opts?: { stdin?: Buffer | string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  spawn(vm: string, args: string[], opts?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  routerLog(): string;
  down(): Promise<void>;
}

export interface StartSimOptions {
  /** Pillar YAML text; default examples/pillar.yml. */
  pillar?: string;
  /** Start the planned daemons (default true). */
  daemons?: boolean;
  /** Edit the formula (e.g. files/<vm>/qbuild.json) between provision and sim up. */
  configure?: (dir: string) => void | Promise<void>;
}

/**
 * Edits a VM's provisioned config (files/<vm>/qbuild.json in `formula`) before `sim up` copies it
 * into the qube: for StartSimOptions.configure.
 */
export function editVmConfig<C = Record<string, any>>(formula: string, vm: string, edit: (config: C) => void): void {
  const path = join(formula, 'files', vm, 'qbuild.json');
  const config = JSON.parse(readFileSync(path, 'utf8')) as C;
  edit(config);
  writeFileSync(path, JSON.stringify(config, null, 2));
}

/** Each of provision and sim up ends well within this (seconds, on a loaded 2-core CI machine); past it, the step is named. */
const STEP_DEADLINE_MS = 45_000;

/** provision → sim up, with the built binary, in a fresh temp dir. Always pair with down(). */
export async function startSim(opts: StartSimOptions = {}): Promise<SimHandle> {
  const bin = qbuildBin();
  const dir = mkdtempSync(join(tmpdir(), 'qbsim-'));
  const pillarPath = join(dir, 'pillar.yml');
  writeFileSync(pillarPath, withKeysService(opts.pillar ?? readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8')));
  const formula = join(dir, 'formula');
  const prov = await run(bin, ['provision', '--pillar', pillarPath, '--out', formula], { deadlineMs: STEP_DEADLINE_MS });
  if (prov.code !== 0) throw new Error(`provision failed (${prov.code}): ${prov.stderr}`);
  await opts.configure?.(formula);
  const up = await run(bin, ['sim', 'up', '--formula', formula, ...(opts.daemons === false ? ['--no-daemons'] : [])], {
    env: { ...process.env, QBUILD_BIN: bin }, deadlineMs: STEP_DEADLINE_MS,
  }).catch(async (e: unknown) => {
    // A sim up killed at its deadline may have left its router: stop it before failing.
    await run(bin, ['sim', 'down', '--formula', formula], { deadlineMs: 20_000 }).catch(() => {});
    throw e;
  });
  if (up.code !== 0) throw new Error(`sim up failed (${up.code}): ${up.stderr}`);
  const qube = (vm: string) => join(formula, 'qubes', vm);
  // Processes a test started through the handle; down() kills those still running.
  const children = new Set<ChildProcess>();
  const track = <C extends ChildProcess>(child: C): C => {
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  const env = (vm: string): NodeJS.ProcessEnv => ({
    // The qube's bin dir first, as qubeEnv has it (the simulator's qrexec-client-vm).
    PATH: `${join(qube(vm), 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: join(qube(vm), 'home'),
    QBUILD_SIM: formula,
    QBUILD_SIM_VM: vm,
    QBUILD_CONFIG: join(qube(vm), 'qbuild.json'),
    QBUILD_STATE: join(qube(vm), 'state'),
    QBUILD_BIN: bin,
  });
  const handle: SimHandle = {
    dir: formula,
    bin,
    qubeDir: qube,
    stateDir: (vm) => join(qube(vm), 'state'),
    configPath: (vm) => join(qube(vm), 'qbuild.json'),
    env,
    call: (from, target, service, o = {}) =>
      run(bin, ['sim', 'call', '--formula', formula, '--from', from, target, service], { stdin: o.stdin ?? '' }),
    spawnCall: (from, target, service) => {
      const child = track(spawn(bin, ['sim', 'call', '--formula', formula, '--from', from, target, service], { stdio: ['pipe', 'pipe', 'pipe'] }));
      child.stdin.on('error', () => {});
      return child;
    },
    run: (vm, args, o = {}) => run(bin, args, { cwd: join(qube(vm), 'home'), env: { ...env(vm), ...o.env }, stdin: o.stdin ?? '' }),
    spawn: (vm, args, o = {}) => track(spawn(bin, args, { cwd: join(qube(vm), 'home'), env: { ...env(vm), ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] })),
    routerLog: () => { try { return readFileSync(join(formula, 'sim', 'router.log'), 'utf8'); } catch { return ''; } },
    down: async () => {
      await Promise.all([...children].map((c) => new Promise((r) => { c.once('exit', r); c.kill('SIGKILL'); })));
      await run(bin, ['sim', 'down', '--formula', formula]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await startKeysDaemons(handle, opts.daemons === false);
  return handle;
}

/**
 * QBUILD_TEST_KEYS_SERVICE=socket runs every simulated world's keys VMs with the resident keys
 * daemon (pillar `keys-service: socket`, docs/splitgpg.md), so any sim test can check both ways.
 */
const KEYS_SOCKET = process.env.QBUILD_TEST_KEYS_SERVICE === 'socket';

function withKeysService(pillar: string): string {
  if (!KEYS_SOCKET || /^\s+keys-service:/m.test(pillar)) return pillar;
  return pillar.replace(/^build-infra:\n/m, 'build-infra:\n  keys-service: socket\n');
}

/**
 * In socket mode, waits until each keys daemon has bound its sockets; with daemons: false (the
 * other qubes' daemons off) it starts them itself, output drained (a full pipe would block them).
 */
async function startKeysDaemons(sim: SimHandle, start: boolean): Promise<void> {
  if (!KEYS_SOCKET) return;
  const plan = JSON.parse(readFileSync(join(sim.dir, 'plan.json'), 'utf8')) as { vms: { name: string; socketServices?: string[] }[] };
  const keysVms = plan.vms.filter((v) => v.socketServices?.length).map((v) => v.name);
  if (keysVms.length === 0) throw new Error('QBUILD_TEST_KEYS_SERVICE=socket, but the plan has no socket services (keys-service: process in the pillar?)');
  if (start) {
    for (const vm of keysVms) {
      const d = sim.spawn(vm, ['role', 'keys', '--serve']);
      d.stdout?.resume();
      d.stderr?.resume();
    }
  }
  const bound = () => keysVms.every((vm) => existsSync(join(sim.stateDir(vm), 'rpc', 'qubes.Gpg')));
  for (let i = 0; i < 400 && !bound(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!bound()) throw new Error('keys daemons did not bind their sockets');
}
