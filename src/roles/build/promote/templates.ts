import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { JobRun } from '../pipeline/job-run.js';
import type { BuildConfig } from '../pipeline/types.js';
import { TicketedSigner, runTool, writeGpgWrapper } from '../repo/sign-tool.js';
import { ImageReports } from '../report/image-reports.js';
import type { BuildPaths } from '../state/paths.js';
import { loadImages, recordImageBuild, type ImageBuild, type StableTemplateRepository, type TemplateRepository } from './image-records.js';
import {
  builtDir, notNewer, notThisRelease, placeDir, refuseIf, runImageRecipe,
  type BuildTemplateCommand, type UploadTemplateCommand,
} from './images.js';
import { checkTemplateRpm, templateRpmName } from './template-rpm.js';
import { publishTemplateRepo, templateRepoLink } from './template-repo.js';
import { DEFAULT_MIN_AGE_DAYS } from './upload-component.js';

/**
 * Build-template and Upload-template (docs/build.md, Images): a template is one RPM, signed,
 * in upstream's templates RPM repositories (qubes-builderv2 plugins/template):
 *   build-template-NAME        the recipe, live; it leaves VERSION and exactly
 *                              qubes-template-NAME-VERSION-TIMESTAMP.noarch.rpm; manifest:
 *                              that RPM's header blob (binary), as a component's build stage
 *   release-template-NAME      rpmsign (%__gpg = qbuild sign) after that log's ticket; stored
 *                              in templates/{release}/built/NAME/V-TS/
 *   publish-/release-REPO, upload   into the template's testing repository
 *                              (templates-itl-testing, or templates-community-testing by the
 *                              pillar's `repository`), template-repo.ts
 * Upload-template copies the RPM from the testing repository's live tree into templates-itl
 * or templates-community through the same publish-/release-REPO, upload stages.
 */

const hasRecipe = (config: BuildConfig, name: string) =>
  (config.templates?.some((t) => t.name === name) ? undefined : `template ${name} has no recipe in env ${config.env}`);

/** The repository a template's builds are published to: its pillar `repository`'s `-testing` (default templates-itl). */
export function testingRepository(config: BuildConfig, name: string): TemplateRepository {
  return `${config.templates?.find((t) => t.name === name)?.repository ?? 'templates-itl'}-testing`;
}

/**
 * The last build of `cmd.template` if it has exactly `cmd.timestamp` and is not yet published
 * in its testing repository: a job stopped between storing and publishing (the daemon died or
 * was stopped), which Build-template resumes instead of refusing. The build is signed and
 * stored already, so only its publication runs.
 */
function unpublishedBuild(paths: BuildPaths, config: BuildConfig, cmd: BuildTemplateCommand): ImageBuild | undefined {
  const rec = loadImages(paths, 'template', cmd.template);
  const last = rec.builds.at(-1);
  if (!last || last.timestamp !== cmd.timestamp) return undefined;
  return rec.published[testingRepository(config, cmd.template)]?.[`${last.version}-${cmd.timestamp}`] === undefined ? last : undefined;
}

/**
 * Build-template: this env's release; a template the env has a recipe for; a timestamp newer
 * than its last build, or exactly its last build's while that is unpublished (resumed).
 */
export function buildTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildTemplateCommand, now: Date): string | undefined {
  void now;
  return notThisRelease(config, cmd.release) ?? hasRecipe(config, cmd.template)
    ?? (unpublishedBuild(paths, config, cmd) ? undefined : notNewer(paths, 'template', cmd.template, cmd.timestamp));
}

/**
 * Upload-template: this env's release; a configured template; exactly that version and
 * timestamp was built; not already in that repository (said so); published in that
 * repository's `-testing` one at least `min-age-days` ago (default 5): upstream's
 * can_be_published_in_stable, the wait the status issue's body announces.
 */
export function uploadTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: UploadTemplateCommand, now: Date): string | undefined {
  const id = `${cmd.version}-${cmd.timestamp}`;
  const what = `template ${cmd.template} ${id}`;
  const rec = loadImages(paths, 'template', cmd.template);
  const testing: TemplateRepository = `${cmd.repository}-testing`;
  const at = rec.published[testing]?.[id];
  return notThisRelease(config, cmd.release)
    ?? hasRecipe(config, cmd.template)
    ?? (rec.builds.some((b) => b.version === cmd.version && b.timestamp === cmd.timestamp) ? undefined : `${what} was never built`)
    ?? (rec.published[cmd.repository]?.[id] !== undefined ? `${what} is already in ${cmd.repository}` : undefined)
    ?? (at !== undefined ? undefined : `${what} was never published in ${testing}`)
    ?? tooYoung(config, what, testing, at!, now);
}

/** Rule: `min-age-days` must have passed since the publication in `testing` (an unreadable time counts as too young). */
function tooYoung(config: BuildConfig, what: string, testing: string, publishedAt: string, now: Date): string | undefined {
  const minAgeDays = config.minAgeDays ?? DEFAULT_MIN_AGE_DAYS;
  const age = now.getTime() - Date.parse(publishedAt);
  if (age >= minAgeDays * 86_400_000) return undefined;
  const hours = Number.isFinite(age) ? Math.max(0, Math.floor(age / 3_600_000)) : 0;
  return `${what} was published in ${testing} ${hours} h ago, less than min-age-days (${minAgeDays})`;
}

/** The gated build of a template: recipe (manifest: the RPM's header), then rpmsign and storing. Returns the stored RPM and its id. */
async function buildTemplate(run: JobRun, cmd: BuildTemplateCommand, onVersion: (id: string) => void): Promise<{ rpm: string; id: string }> {
  const recipe = run.ctx.config.templates!.find((t) => t.name === cmd.template)!;
  const vars = { TEMPLATE: cmd.template, RELEASE: cmd.release, TIMESTAMP: cmd.timestamp };
  const built = await run.stage(`build-template-${cmd.template}`, async (log) => {
    const { version, out } = await runImageRecipe(run, recipe.argv, vars, undefined, log);
    onVersion(`${version}-${cmd.timestamp}`);
    const rpm = await checkTemplateRpm(run.ctx, out, cmd.template, version, cmd.timestamp);
    log.write(`qbuild: image ${version}: ${rpm.file}\n`);
    log.manifest(rpm.digest, `templates/${cmd.template}/${version}-${cmd.timestamp}/${rpm.file}`, 'binary');
    return { version, out, ...rpm };
  });
  const id = `${built.version}-${cmd.timestamp}`;
  const dir = builtDir(run, 'template', cmd.template, id);
  await run.stage(`release-template-${cmd.template}`, async (log) => {
    // Unrecorded (else refused or resumed): what a stopped attempt stored before recording it.
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      log.write(`removed ${dir}: stored by a stopped attempt, never recorded\n`);
    }
    const key = run.ctx.config.signKey;
    const gpg = writeGpgWrapper(run.ctx);
    await new TicketedSigner(run.ctx).run(`rpmsign ${built.file}`, () => runTool(run.ctx, 'rpmsign', ['--addsign', '--define', `__gpg ${gpg}`, '--define', `_gpg_name ${key}`, built.path]));
    log.write(`signed ${built.file}: rpm header signature by ${key} (rpmsign through qbuild sign)\n`);
    placeDir(built.out, dir);
    const sha256 = createHash('sha256').update(readFileSync(join(dir, built.file))).digest('hex');
    recordImageBuild(run.paths, 'template', cmd.template, { version: built.version, timestamp: cmd.timestamp, at: new Date().toISOString(), job: run.job.id, files: [{ name: built.file, sha256 }] });
    log.write(`stored templates/${cmd.template} ${id} in ${dir}\n`);
  });
  return { rpm: join(dir, built.file), id };
}

/**
 * Runs an accepted Build-template (checks again first): built, signed, stored, then published
 * into the template's testing repository and uploaded (as upstream's Build-template).
 */
export async function runBuildTemplate(run: JobRun, cmd: BuildTemplateCommand): Promise<void> {
  refuseIf(buildTemplateRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const reports = ImageReports.template(run, cmd.template, cmd.release);
  const testing = testingRepository(run.ctx.config, cmd.template);
  const stored = unpublishedBuild(run.paths, run.ctx.config, cmd);
  if (stored) {
    // Its building and built reports were queued (durably) by the attempt that stored it.
    const rpm = join(builtDir(run, 'template', cmd.template, `${stored.version}-${cmd.timestamp}`), templateRpmName(cmd.template, stored.version, cmd.timestamp));
    await publishReported(run, reports, testing, cmd.template, `${stored.version}-${cmd.timestamp}`, rpm);
    return;
  }
  let id: string | undefined;
  let built: { rpm: string; id: string };
  try {
    built = await buildTemplate(run, cmd, (v) => { id = v; reports.building(v); });
  } catch (e) {
    reports.buildFailed(id ?? unknownTemplateId(run.paths, cmd), e);
    throw e;
  }
  reports.built(built.id, reports.stageLog(`build-template-${cmd.template}`));
  await publishReported(run, reports, testing, cmd.template, built.id, built.rpm);
}

/**
 * Runs an accepted Upload-template (checks again first): the signed RPM, taken from the live
 * testing repository (the bytes users tested; it stays there, as upstream), published into
 * `cmd.repository` and uploaded.
 */
export async function runUploadTemplate(run: JobRun, cmd: UploadTemplateCommand): Promise<void> {
  refuseIf(uploadTemplateRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const id = `${cmd.version}-${cmd.timestamp}`;
  const testing = templateRepoLink(run, `${cmd.repository}-testing`);
  const rpm = existsSync(testing) ? join(realpathSync(testing), 'rpm', templateRpmName(cmd.template, cmd.version, cmd.timestamp)) : '';
  const reports = ImageReports.template(run, cmd.template, cmd.release);
  if (!rpm || !existsSync(rpm)) throw new QbuildError('stage', `refused: template ${cmd.template} ${id} is not in ${cmd.repository}-testing`);
  await publishReported(run, reports, cmd.repository, cmd.template, id, rpm);
}

/**
 * publishTemplateRepo, reported as the pipeline's uploads: uploaded (with the upload log) or
 * failed to upload, only with an rpm upload target (else the repository stays in this VM).
 */
async function publishReported(run: JobRun, reports: ImageReports, repository: TemplateRepository | StableTemplateRepository, name: string, id: string, rpm: string): Promise<void> {
  const sent = run.ctx.config.upload.rpm !== undefined;
  try {
    await publishTemplateRepo(run, repository, name, id, [rpm]);
  } catch (e) {
    if (sent) reports.uploadFailed(id, repository, e);
    throw e;
  }
  if (sent) reports.uploaded(id, repository, run.lastLog());
}

/**
 * The status issue of a template build that failed before its recipe left VERSION: the last
 * build's version of that template (a template keeps its version within a release), else
 * upstream's own template version, the release's `<major>.<minor>.0`; with this timestamp.
 */
function unknownTemplateId(paths: BuildPaths, cmd: BuildTemplateCommand): string {
  const last = loadImages(paths, 'template', cmd.template).builds.at(-1)?.version;
  return `${last ?? `${cmd.release.replace(/^r/, '')}.0`}-${cmd.timestamp}`;
}
