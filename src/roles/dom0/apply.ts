import { spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { DOM0_SALT } from '../../salt/paths.js';
import { FORMULA } from '../../protocol/plan/plan.js';

export interface ApplyTargets { stateRoot: string; pillarRoot: string }

export interface ApplyOutput {
  /** One progress line. */
  log: (line: string) => void;
  /** The full output of a failed step (it may be long: qubesctl's state report). */
  failure: (text: string) => void;
}

/** qubesctl's path, or null when this is not dom0 (no qubesctl on PATH). */
export function findQubesctl(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, 'qubesctl');
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

export function requireQubesctl(): string {
  const q = findQubesctl();
  if (!q) throw new QbuildError('io', 'qubesctl not found: --apply runs in dom0 only (without --apply the formula is just written)');
  return q;
}

/**
 * Installs a written formula into dom0's Salt roots, then runs
 * `qubesctl top.enable qbuild`, `... pillar=True` and `qubesctl --all state.highstate`,
 * one progress line per step, stopping at the first failure with its output.
 */
export function applyFormula(out: string, qubesctl: string, io: ApplyOutput,
  targets: ApplyTargets = { stateRoot: DOM0_SALT.stateRoot, pillarRoot: DOM0_SALT.pillarRoot }): void {
  const { log } = io;
  const n = DOM0_SALT.name;
  if (!existsSync(join(out, FORMULA.binary))) {
    throw new QbuildError('io', `${join(out, FORMULA.binary)} missing: provision with the qbuild executable (not node) to include it`);
  }
  log(`copying formula to ${targets.stateRoot}/${n} and ${targets.pillarRoot}/${n}`);
  try {
    for (const [from, root] of [[FORMULA.salt, targets.stateRoot], [FORMULA.pillar, targets.pillarRoot]] as const) {
      mkdirSync(root, { recursive: true });
      rmSync(join(root, n), { recursive: true, force: true });
      cpSync(join(out, from, n), join(root, n), { recursive: true });
      cpSync(join(out, from, `${n}.top`), join(root, `${n}.top`));
    }
    cpSync(join(out, FORMULA.files), join(targets.stateRoot, n, 'files'), { recursive: true });
  } catch (e) {
    throw new QbuildError('io', `cannot install the formula: ${(e as Error).message}`);
  }
  const steps = [['top.enable', n], ['top.enable', n, 'pillar=True'], ['--all', 'state.highstate']];
  steps.forEach((args, i) => {
    log(`[${i + 1}/${steps.length}] qubesctl ${args.join(' ')}`);
    const r = spawnSync(qubesctl, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.error || r.status !== 0) {
      const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trimEnd();
      if (output) io.failure(`${output}\n`);
      const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
      throw new QbuildError('io', `qubesctl ${args.join(' ')} failed (${why})`);
    }
  });
  log('applied');
}
