import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { constants } from 'node:os';
import { QbuildError } from '../../../errors.js';
import { checkVmName } from '../names.js';
import { simBinary } from './binary.js';
import { qubeEnv, simPaths } from './layout.js';
import { firstBoot } from './first-boot.js';
import { materialise } from './materialise.js';
import { readPlan } from './plan-file.js';

/**
 * `sim exec --formula F VM -- CMD [ARGS…]`: CMD run as a process inside the simulated qube VM
 * would be (qubeEnv: its HOME, config, state and PATH; cwd its home), stdio passed through,
 * its exit code returned (128+signal when killed). `qbuild` as CMD is this same binary.
 * Rules: VM must be a qube of the formula's plan; CMD must be given. A qube never laid out
 * (no `sim up` yet) is laid out first, as `sim up` would; the router need not run.
 */
export async function simExec(formulaArg: string, positional: string[], cmd: string[]): Promise<number> {
  const [vm] = positional;
  if (positional.length !== 1 || !vm || cmd.length === 0) throw new QbuildError('usage', 'sim exec needs VM -- CMD [ARGS…] (the command after --)');
  const formula = resolve(formulaArg);
  const plan = readPlan(formula);
  if (!plan.vms.some((v) => v.name === vm)) throw new QbuildError('usage', `no such qube ${vm} in ${formula}`);
  const q = simPaths(formula).qube(checkVmName(vm));
  if (!existsSync(q.config)) { materialise(formula, plan); firstBoot(formula, plan); }
  const bin = simBinary();
  const [file, ...args] = cmd as [string, ...string[]];
  const child = spawn(file === 'qbuild' ? bin : file, args, { cwd: q.home, env: qubeEnv(formula, vm, bin), stdio: 'inherit' });
  // A terminal's ^C reaches the child itself (same process group); a signal sent to us only is passed on.
  const pass = (s: NodeJS.Signals) => { child.kill(s); };
  process.on('SIGINT', pass).on('SIGTERM', pass);
  try {
    return await new Promise<number>((done, fail) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        fail(new QbuildError('usage', `cannot run ${file} in ${vm}: ${e.code === 'ENOENT' ? 'not found' : e.message}`, e.code === 'ENOENT' ? 127 : 126));
      });
      child.once('exit', (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', pass).off('SIGTERM', pass);
  }
}
