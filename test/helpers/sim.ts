import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** provision → sim up, with the built binary, in a fresh temp dir. Always pair with down(). */
export async function startSim(opts: StartSimOptions = {}): Promise<SimHandle> {
  const bin = qbuildBin();
  const dir = mkdtempSync(join(tmpdir(), 'qbsim-'));
  const pillarPath = join(dir, 'pillar.yml');
  writeFileSync(pillarPath, opts.pillar ?? readFileSync(join(repoRoot, 'examples', 'pillar.yml')));
  const formula = join(dir, 'formula');
  const prov = await run(bin, ['provision', '--pillar', pillarPath, '--out', formula]);
  if (prov.code !== 0) throw new Error(`provision failed (${prov.code}): ${prov.stderr}`);
  await opts.configure?.(formula);
  const up = await run(bin, ['sim', 'up', '--formula', formula, ...(opts.daemons === false ? ['--no-daemons'] : [])], {
    env: { ...process.env, QBUILD_BIN: bin },
  });
  if (up.code !== 0) throw new Error(`sim up failed (${up.code}): ${up.stderr}`);
  const qube = (vm: string) => join(formula, 'qubes', vm);
  const env = (vm: string): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: join(qube(vm), 'home'),
    QBUILD_SIM: formula,
    QBUILD_SIM_VM: vm,
    QBUILD_CONFIG: join(qube(vm), 'qbuild.json'),
    QBUILD_STATE: join(qube(vm), 'state'),
    QBUILD_BIN: bin,
  });
  return {
    dir: formula,
    bin,
    qubeDir: qube,
    stateDir: (vm) => join(qube(vm), 'state'),
    configPath: (vm) => join(qube(vm), 'qbuild.json'),
    env,
    call: (from, target, service, o = {}) =>
      run(bin, ['sim', 'call', '--formula', formula, '--from', from, target, service], { stdin: o.stdin ?? '' }),
    run: (vm, args, o = {}) => run(bin, args, { cwd: join(qube(vm), 'home'), env: { ...env(vm), ...o.env }, stdin: o.stdin ?? '' }),
    spawn: (vm, args, o = {}) => spawn(bin, args, { cwd: join(qube(vm), 'home'), env: { ...env(vm), ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] }),
    routerLog: () => { try { return readFileSync(join(formula, 'sim', 'router.log'), 'utf8'); } catch { return ''; } },
    down: async () => {
      await run(bin, ['sim', 'down', '--formula', formula]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
