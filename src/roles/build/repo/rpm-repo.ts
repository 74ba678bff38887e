import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { Dist, StageContext } from '../pipeline/types.js';
import type { MetadataSignature } from './metadata-signature.js';
import { TESTING, type Repository } from './repositories.js';
import { mustRun } from './sign-tool.js';
import { linkOrCopy, type StagedTree } from './tree-swap.js';

/**
 * RPM repository layout, as upstream's publish_rpm (qubes-builderv2
 * qubesbuilder/plugins/publish_rpm: `{repo}/rpm/{release}/{repository}/{set}/{dist}`, the
 * packages in `rpm/`, `repodata/` by createrepo_c, `repodata/repomd.xml.asc` a detached
 * armored signature):
 *
 *   {root}/rpm/{release}/current-testing/{host|vm}/{dist}        → symlink (tree-swap.ts)
 *   {root}/rpm/{release}/current-testing/{host|vm}/{dist}/rpm/*.rpm
 *   {root}/rpm/{release}/current-testing/{host|vm}/{dist}/repodata/repomd.xml{,.asc}
 *
 * `current` and `security-testing` have the same shape beside it.
 */
export const RPM_REPOSITORY = TESTING;

/** The published path of a dist's RPM repository (current-testing unless named). */
export function rpmRepoLink(root: string, release: string, dist: Dist, repository: Repository = TESTING): string {
  return join(root, 'rpm', release, repository, dist.set, dist.dist);
}

/** The staged copy leaves out the old signature: it signs metadata that is about to change. */
export const rpmSkip = (rel: string): boolean => rel === 'repodata/repomd.xml.asc';

/**
 * Adds `packages` to the staged tree's `rpm/` (a package of the same name is replaced, as
 * upstream does) and regenerates `repodata/` with `createrepo_c --update`, which reads the
 * old metadata for unchanged packages and writes the new metadata into a fresh directory
 * (never into the hard-linked old files). Returns the one signature the tree needs. A
 * promotion (`repository` current or security-testing) passes the packages of the
 * current-testing tree: they are hard-linked, the same bytes in both repositories.
 */
export async function stageRpm(ctx: StageContext, tree: StagedTree, dist: Dist, packages: string[], repository: Repository = TESTING): Promise<MetadataSignature[]> {
  const repomd = await fillRpmTree(ctx, tree, packages);
  return [{
    input: repomd, output: `${repomd}.asc`, shape: 'detach-armor', form: 'binary',
    label: `${repository}/${dist.set}/${dist.dist}/repodata/repomd.xml`,
  }];
}

/**
 * The RPM repository step a dist's and a template's repository share: `packages` into the
 * staged tree's `rpm/` (one of the same name replaced), then `createrepo_c --update`; returns
 * the `repodata/repomd.xml` it wrote, to be signed.
 */
export async function fillRpmTree(ctx: StageContext, tree: StagedTree, packages: string[]): Promise<string> {
  const rpmDir = join(tree.dir, 'rpm');
  mkdirSync(rpmDir, { recursive: true });
  for (const p of packages) {
    const dst = join(rpmDir, basename(p));
    if (existsSync(dst)) unlinkSync(dst);
    linkOrCopy(p, dst);
  }
  await mustRun(ctx, 'createrepo_c', ['--update', '--quiet', tree.dir]);
  const repomd = join(tree.dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomd)) throw new QbuildError('stage', 'createrepo_c wrote no repodata/repomd.xml');
  return repomd;
}

/** The tree-relative paths a dist's RPM repository gets for `packages` (what a promotion copies). */
export function rpmTreeFiles(packages: string[]): string[] {
  return packages.map((p) => `rpm/${basename(p)}`);
}
