import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { stateDir } from '../../../config.js';
import { QbuildError } from '../../../errors.js';
import { formDigest } from '../../../protocol/signform.js';
import type { BuildLogStream } from '../log-stream.js';
import type { BuiltDist, Dist, PublishedDist, StageContext } from '../pipeline/types.js';
import { debPoolFiles, debRepoLink, debSkip, promoteDeb, stageDeb } from '../repo/deb-repo.js';
import type { MetadataSignature } from '../repo/metadata-signature.js';
import { TESTING, type Repository } from '../repo/repositories.js';
import { rpmRepoLink, rpmSkip, rpmTreeFiles, stageRpm } from '../repo/rpm-repo.js';
import { verifySigned } from '../repo/verify-signed.js';
import { TicketedSigner, qbuildSign, writeGpgWrapper, type TicketWait } from '../repo/sign-tool.js';
import { discard, stageTree, swapIn, swapUnit, type StagedTree } from '../repo/tree-swap.js';

/**
 * The `publish` stage, in two calls around its own log's ticket (docs/build-repository.md):
 *
 *   stagePublish     a staged copy of the dist's current-testing tree (hard links), the new
 *                    packages added, metadata regenerated (createrepo_c; apt-ftparchive), the
 *                    digests of the metadata to sign named in this stage's manifest;
 *   (the caller finishes the log; the logs VM publishes it and tickets the keys VM)
 *   signPublish      the metadata signed through `qbuild sign` into the staged tree (the
 *                    first signature waits, bounded, for the ticket);
 *   swapPublish      the tree swapped in atomically (completePublish = both).
 *
 * Until the swap the published tree is untouched: any failure (a tool, a refused or
 * missing signature, the job stopped) discards the staged tree (abandonPublish) and the
 * repository stays exactly as it was.
 *
 * A promotion (Upload-component, src/roles/build/promote/) is the same three steps with
 * stagePromotion in place of stagePublish: the target repository's tree is staged with the
 * packages of one version taken from the live current-testing tree.
 */
export interface StagedPublish {
  dist: Dist;
  /** The repository being published: current-testing for a build, current/security-testing for a promotion. */
  repository: Repository;
  tree: StagedTree;
  signatures: MetadataSignature[];
}

/** The repository root: build.repositoryRoot, relative to this qube's state dir. */
export function repositoryRoot(ctx: StageContext): string {
  const root = ctx.config.repositoryRoot;
  return isAbsolute(root) ? root : resolve(stateDir(ctx.env), root);
}

/**
 * The published path (a symlink to the live tree) of a dist's repository (current-testing
 * unless named). For deb it is the whole package set, every suite of it.
 */
export function publishedLink(ctx: StageContext, dist: Dist, repository: Repository = TESTING): string {
  const root = repositoryRoot(ctx);
  return dist.format === 'rpm' ? rpmRepoLink(root, ctx.config.release, dist, repository) : debRepoLink(root, ctx.config.release, dist);
}

const pathsOf = (built: BuiltDist, ...kinds: string[]) => built.artifacts.filter((a) => kinds.includes(a.kind)).map((a) => a.path);

/**
 * Stages one dist's repository and names its metadata in `log`'s manifest. Rules: a dist
 * publishes only packages of its own format (RPMs for rpm, .deb with their source for deb);
 * a build with nothing to publish is refused rather than re-signing unchanged metadata; a
 * package without a good signature by the signing key is refused (verify-signed.ts).
 */
export async function stagePublish(ctx: StageContext, built: BuiltDist, log: BuildLogStream): Promise<StagedPublish> {
  const { dist } = built;
  const rpm = dist.format === 'rpm';
  const packages = rpm ? pathsOf(built, 'rpm', 'srpm') : pathsOf(built, 'deb', 'dsc');
  if (!packages.length) throw new QbuildError('stage', `${dist.name}: nothing to publish`);
  await verifySigned(ctx, built);
  log.write(`verified: every package of ${dist.name} is signed by ${ctx.config.signKey}\n`);
  return stageInto(ctx, dist, TESTING, log, async (tree) => {
    const signatures = rpm
      ? await stageRpm(ctx, tree, dist, packages)
      : await stageDeb(ctx, tree, ctx.config.release, dist, debFilesOf(built));
    for (const p of packages) log.write(`added ${basename(p)}\n`);
    return signatures;
  });
}

const debFilesOf = (built: BuiltDist) => ({ debs: pathsOf(built, 'deb'), dsc: pathsOf(built, 'dsc')[0], buildinfo: pathsOf(built, 'buildinfo')[0] });

/**
 * The files a build's publication put into its dist's tree, relative to that tree (rpm:
 * `rpm/NAME`; deb: the pool paths): recorded with the built version, so a promotion later
 * copies exactly that version's packages and nothing else.
 */
export function publishedFiles(built: BuiltDist): string[] {
  return built.dist.format === 'rpm' ? rpmTreeFiles(pathsOf(built, 'rpm', 'srpm')) : debPoolFiles(debFilesOf(built));
}

/**
 * Stages `repository`'s tree for `dist` (a hard-linked copy of its live tree, the metadata
 * about to be regenerated left out), lets `fill` add packages and regenerate the metadata,
 * and names each signature the tree needs in `log`'s manifest. Rule: a signature output may
 * not exist before it is signed (it would be published unsigned-by-us). Any failure
 * discards the staged tree.
 */
async function stageInto(ctx: StageContext, dist: Dist, repository: Repository, log: BuildLogStream, fill: (tree: StagedTree) => Promise<MetadataSignature[]>): Promise<StagedPublish> {
  const unit = swapUnit(publishedLink(ctx, dist, repository));
  const tree = stageTree(unit, dist.format === 'rpm' ? rpmSkip : debSkip(dist, repository));
  try {
    log.write(`staging ${unit.link} in ${tree.dir}${tree.base ? ` (from ${tree.base})` : ' (first publication)'}\n`);
    const signatures = await fill(tree);
    for (const s of signatures) {
      if (existsSync(s.output)) throw new QbuildError('internal', `${s.output} exists before it was signed`);
      log.manifest(formDigest(s.form, readFileSync(s.input)), s.label, s.form);
    }
    return { dist, repository, tree, signatures };
  } catch (e) {
    discard(tree);
    throw e;
  }
}

/** A recorded tree file: relative, `/`-separated names of `[A-Za-z0-9+._~-]`, no `.`/`..` part. */
const TREE_PATH = /^[A-Za-z0-9+._~-]+(\/[A-Za-z0-9+._~-]+)*$/;

/**
 * Stages a promotion: `files` (tree-relative, as publishedFiles recorded them) of one
 * component version, from the dist's live current-testing tree into `repository`'s. Rules:
 * the target is not current-testing; every file must be in the live current-testing tree
 * (it is copied from there, never from a job's output, so the bytes are the ones users
 * tested); the packages stay in current-testing too (as upstream, which adds a repository to
 * the version's publications and removes none). rpm: hard links into the target's `rpm/`,
 * createrepo_c; deb: the version's index paragraphs into the target suite of the same set.
 * Each recorded file must be a plain path inside the tree (TREE_PATH), never one leading out of it.
 */
export async function stagePromotion(ctx: StageContext, dist: Dist, files: string[], repository: Repository, log: BuildLogStream): Promise<StagedPublish> {
  if (repository === TESTING) throw new QbuildError('internal', 'a promotion targets current or security-testing');
  if (files.length === 0) throw new QbuildError('stage', `${dist.name}: no packages recorded for this version`);
  const odd = files.find((f) => !TREE_PATH.test(f) || f.split('/').some((c) => c === '.' || c === '..'));
  if (odd !== undefined) throw new QbuildError('stage', `${dist.name}: recorded file ${JSON.stringify(odd.slice(0, 80))} is not a path inside the tree`);
  const testing = publishedLink(ctx, dist, TESTING);
  if (!existsSync(testing)) throw new QbuildError('stage', `${dist.name}: nothing is published in current-testing`);
  const from = publishedTree(testing);
  for (const f of files) if (!existsSync(join(from, f))) throw new QbuildError('stage', `${dist.name}: ${f} is not in current-testing`);
  return stageInto(ctx, dist, repository, log, async (tree) => {
    const signatures = dist.format === 'rpm'
      ? await stageRpm(ctx, tree, dist, files.map((f) => join(from, f)), repository)
      : await promoteDeb(ctx, tree, ctx.config.release, dist, files, repository);
    for (const f of files) log.write(`${repository}: ${f}\n`);
    return signatures;
  });
}

/**
 * Signs the staged metadata through `qbuild sign`, into the staged tree (the first
 * signature waits, bounded, for the publish log's ticket). `log`, if given, is a stream
 * still open (the publish log has ended by now). On failure the staged tree is discarded.
 */
export async function signPublish(ctx: StageContext, staged: StagedPublish, log?: Pick<BuildLogStream, 'write'>, wait: TicketWait = {}): Promise<void> {
  try {
    const wrapper = writeGpgWrapper(ctx);
    const key = ctx.config.signKey;
    const signer = new TicketedSigner(ctx, wait);
    for (const s of staged.signatures) {
      await signer.run(`signing ${s.label}`, () => qbuildSign(ctx, wrapper, key, s.shape, s.input, s.output));
      log?.write(`signed ${s.label} (${s.shape}) by ${key}\n`);
    }
  } catch (e) {
    discard(staged.tree);
    throw e;
  }
}

/**
 * Makes a signed staged tree the published one (one rename(2), tree-swap.ts). Rule: every
 * signature the tree needs must exist first; a tree missing one is discarded, never published.
 */
export function swapPublish(ctx: StageContext, staged: StagedPublish, log?: Pick<BuildLogStream, 'write'>, logPath = ''): PublishedDist {
  try {
    const missing = staged.signatures.find((s) => !existsSync(s.output));
    if (missing) throw new QbuildError('stage', `${missing.label} is not signed: not published`);
    const live = swapIn(staged.tree);
    const repoDir = publishedLink(ctx, staged.dist, staged.repository);
    log?.write(`published ${repoDir} -> ${live}\n`);
    return { dist: staged.dist, repoDir, logPath, ...(staged.repository !== TESTING ? { repository: staged.repository } : {}) };
  } catch (e) {
    discard(staged.tree);
    throw e;
  }
}

/** signPublish then swapPublish: one dist's publication completed. */
export async function completePublish(ctx: StageContext, staged: StagedPublish, logPath: string, log?: Pick<BuildLogStream, 'write'>, wait: TicketWait = {}): Promise<PublishedDist> {
  await signPublish(ctx, staged, log, wait);
  return swapPublish(ctx, staged, log, logPath);
}

/** Drops a staged publication that will not be completed (e.g. the ticket never came). */
export function abandonPublish(staged: StagedPublish): void {
  discard(staged.tree);
}

/** The tree a PublishedDist's repoDir resolves to now (what an upload must copy, in one piece). */
export function publishedTree(repoDir: string): string {
  return realpathSync(repoDir);
}
