import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FIXTURE_NAME, writeFixtureTree, type FixtureVariant } from '../../../../src/demo/fixture-component.js';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import type { RecipeJob } from '../../../../src/roles/build/recipes/recipe.js';
import type { Dist, SourceCheckout } from '../../../../src/roles/build/pipeline/types.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'qbuild test', GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'qbuild test', GIT_COMMITTER_EMAIL: 'test@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
};

/**
 * The fixture component committed with real git in `<root>/src`, as the fetch stage leaves a
 * checkout: a work tree at the tagged commit (its tag is not needed by the build stage).
 */
export function fixtureCheckout(root: string, version: string, variant: FixtureVariant = 'native'): SourceCheckout {
  const dir = join(root, 'src');
  writeFixtureTree(dir, version, variant);
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { env: GIT_ENV, encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', `${FIXTURE_NAME} ${version}`);
  const commit = git('rev-parse', 'HEAD');
  return { component: FIXTURE_NAME, dir, gitDir: join(dir, '.git'), commit, tag: `v${version}`, version, signers: [] };
}

export const VM_FC42: Dist = { name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' };
export const VM_BOOKWORM: Dist = { name: 'vm-bookworm', set: 'vm', dist: 'bookworm', format: 'deb' };

/** A recipe job building `src` for `dist` in `<root>/build`, collecting the output. */
export function recipeJob(root: string, src: SourceCheckout, dist: Dist): { job: RecipeJob; output: () => string } {
  const chunks: Buffer[] = [];
  const job: RecipeJob = {
    src, dist, dir: join(root, 'build'), executor: new LocalExecutor(),
    onOutput: (c) => { chunks.push(Buffer.from(c)); },
    timeoutMs: 120_000, outputCapBytes: 64 << 20,
  };
  return { job, output: () => Buffer.concat(chunks).toString() };
}
