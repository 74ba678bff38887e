import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { recipeEnv } from '../executor/env.js';
import { describeResult, type Executor } from '../executor/executor.js';
import type { Dist, SourceCheckout } from '../pipeline/types.js';

/** What a recipe runs with: one build of one checkout for one dist. */
export interface RecipeJob {
  src: SourceCheckout;
  dist: Dist;
  /**
   * The build's own work dir (the executor's cwd). Layout: `out/` the results, `home/` and
   * `tmp/` the recipe's HOME and TMPDIR, anything else the recipe's scratch.
   */
  dir: string;
  executor: Executor;
  onOutput(chunk: Buffer): void | Promise<void>;
  timeoutMs: number;
  outputCapBytes: number;
  signal?: AbortSignal;
}

/** Where a recipe leaves its results: `<dir>/out`. */
export function outputDir(job: RecipeJob): string {
  return join(job.dir, 'out');
}

/**
 * Runs one command of a recipe through the executor with the recipe environment plus `vars`
 * (SOURCE_DIR, SOURCE_GIT_DIR, OUTPUT_DIR, DIST, COMPONENT, VERSION, COMMIT are always there). Anything but
 * exit code 0 fails the stage, naming how it ended.
 */
export async function runRecipeCommand(job: RecipeJob, what: string, argv: string[], vars: Record<string, string> = {}): Promise<void> {
  const home = join(job.dir, 'home');
  const tmp = join(job.dir, 'tmp');
  for (const d of [home, tmp, outputDir(job)]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const env = recipeEnv({ home, tmp }, {
    SOURCE_DIR: job.src.dir,
    SOURCE_GIT_DIR: job.src.gitDir,
    OUTPUT_DIR: outputDir(job),
    DIST: job.dist.name,
    COMPONENT: job.src.component,
    VERSION: job.src.version,
    COMMIT: job.src.commit,
    ...vars,
  });
  const r = await job.executor.run({
    argv, cwd: job.dir, env, inputDirs: [job.src.dir, job.src.gitDir],
    timeoutMs: job.timeoutMs, outputCapBytes: job.outputCapBytes,
    onOutput: job.onOutput, signal: job.signal,
  });
  if (r.kind !== 'exited' || r.code !== 0) throw new QbuildError('stage', `${what} failed: ${describeResult(r)}`);
}

/** `sh -c SCRIPT`: recipes that are a few tool calls run as one script, in one executor run. */
export function shellScript(script: string): string[] {
  return ['sh', '-c', script, 'qbuild-recipe'];
}
