import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { formDigest } from '../../../protocol/signform.js';
import type { JobRun } from '../pipeline/job-run.js';
import { TicketedSigner, qbuildSign, writeGpgWrapper } from '../repo/sign-tool.js';
import { discard, stageTree, swapIn, swapUnit, type StagedTree } from '../repo/tree-swap.js';
import { fillRpmTree } from '../repo/rpm-repo.js';
import { verifySigned } from '../repo/verify-signed.js';
import { repositoryRoot } from '../stages/publish.js';
import { uploadTransfers } from '../stages/upload.js';
import { recordTemplatePublished, type TemplateRepository } from './image-records.js';

/**
 * A template RPM repository, as upstream's template plugin publishes one
 * (qubes-builderv2 plugins/template `publish`, `create_and_sign_repository_metadata`):
 *
 *   {root}/rpm/{release}/{repository}                    → symlink to the live tree (tree-swap.ts)
 *   {root}/rpm/{release}/{repository}/rpm/qubes-template-NAME-V-TS.noarch.rpm
 *   {root}/rpm/{release}/{repository}/repodata/repomd.xml{,.asc}
 *
 * uploaded to the rpm target's `{repository}/` (upstream's upload_template_repository:
 * `{local rpm/{release}}/{repository}/` → `{remote path}/{repository}/`; the target path plays
 * the part of the component trees' too, upload-layout.ts). Not made: upstream's metalink
 * (it needs the mirror list qbuild does not have).
 */
export function templateRepoLink(run: JobRun, repository: TemplateRepository): string {
  return join(repositoryRoot(run.ctx), 'rpm', run.ctx.config.release, repository);
}

/** The old signature is left out of a staged copy: the metadata it signs is about to change. */
const skipSignature = (rel: string): boolean => rel === 'repodata/repomd.xml.asc';

/**
 * Publishes signed template RPMs into `repository` through the gate, then uploads it:
 *   publish-REPOSITORY  a staged (hard-linked) copy of the live tree, the RPMs added to `rpm/`
 *                       (one of the same name replaced), createrepo_c; manifest: repomd.xml
 *                       (binary, to be signed detached and armored: repomd.xml.asc)
 *   release-REPOSITORY  repomd.xml signed after that log's ticket; the tree swapped in by one
 *                       rename; `id` recorded as published there now
 *   upload              the live tree to the rpm upload target's `REPOSITORY/` (or logged as
 *                       not configured)
 * Rules: every RPM must carry a good signature by the env's key before it goes in
 * (verify-signed.ts, upstream's check before publishing); a failure before the swap discards
 * the staged tree, so the live repository is the old one or the new one, never a mix.
 */
export async function publishTemplateRepo(run: JobRun, repository: TemplateRepository, name: string, id: string, rpms: string[]): Promise<void> {
  const ctx = run.ctx;
  const link = templateRepoLink(run, repository);
  const label = `${repository}/repodata/repomd.xml`;
  const staged = await run.stage(`publish-${repository}`, async (log) => {
    await verifySigned(ctx, { artifacts: rpms.map((path) => ({ path, kind: 'rpm' as const })) });
    log.write(`verified: ${rpms.map((p) => basename(p)).join(', ')} signed by ${ctx.config.signKey}\n`);
    const tree = stageTree(swapUnit(link), skipSignature);
    try {
      log.write(`staging ${link} in ${tree.dir}${tree.base ? ` (from ${tree.base})` : ' (first publication)'}\n`);
      const repomd = await fillTree(run, tree, rpms);
      for (const p of rpms) log.write(`${repository}: rpm/${basename(p)}\n`);
      log.manifest(formDigest('binary', readFileSync(repomd)), label, 'binary');
      return { tree, repomd };
    } catch (e) {
      discard(tree);
      throw e;
    }
  });
  await run.stage(`release-${repository}`, async (log) => {
    try {
      const key = ctx.config.signKey;
      await new TicketedSigner(ctx).run(`signing ${label}`, () => qbuildSign(ctx, writeGpgWrapper(ctx), key, 'detach-armor', staged.repomd, `${staged.repomd}.asc`));
      log.write(`signed ${label} (detach-armor) by ${key}\n`);
      if (!existsSync(`${staged.repomd}.asc`)) throw new QbuildError('stage', `${label} is not signed: not published`);
      log.write(`published ${link} -> ${swapIn(staged.tree)}\n`);
    } catch (e) {
      discard(staged.tree);
      throw e;
    }
    recordTemplatePublished(run.paths, name, repository, id, new Date().toISOString());
  });
  await run.stage('upload', async (log) => {
    const target = ctx.config.upload.rpm;
    const what = `${repository} (template ${name} ${id})`;
    if (!target) {
      log.write(`upload: no rpm upload target configured (pillar upload:rpm): ${what} not uploaded\n`);
      return;
    }
    // Resolved once: the whole upload comes from one tree even if another publication swaps the link meanwhile.
    await uploadTransfers(ctx, [{ target, what, t: { local: realpathSync(link), remote: repository } }], log);
  });
}

/**
 * Adds `rpms` to the staged tree's `rpm/` and regenerates `repodata/` with `createrepo_c
 * --update` (which writes fresh files, never into the hard-linked old ones). Rule: a signature
 * file may not exist before this stage signs it (it would be published unsigned-by-us).
 */
async function fillTree(run: JobRun, tree: StagedTree, rpms: string[]): Promise<string> {
  const repomd = await fillRpmTree(run.ctx, tree, rpms);
  if (existsSync(`${repomd}.asc`)) throw new QbuildError('internal', `${repomd}.asc exists before it was signed`);
  return repomd;
}
