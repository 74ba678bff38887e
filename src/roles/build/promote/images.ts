import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { OUTPUT_CAP_BYTES, TIMEOUT_SECONDS } from '../../../protocol/build/rules.js';
import type { Command } from '../../../protocol/github/command/grammar.js';
import { formDigest } from '../../../protocol/signform.js';
import { recipeEnv } from '../executor/env.js';
import { describeResult } from '../executor/executor.js';
import type { BuildLogStream } from '../log-stream.js';
import type { JobRun } from '../pipeline/job-run.js';
import type { BuildConfig } from '../pipeline/types.js';
import { collectArtifacts, artifactLabel } from '../recipes/artifacts.js';
import { TicketedSigner, qbuildSign, writeGpgWrapper } from '../repo/sign-tool.js';
import { repositoryRoot } from '../stages/publish.js';
import { uploadTransfers } from '../stages/upload.js';
import { ImageReports } from '../report/image-reports.js';
import { DEFAULT_MIN_AGE_DAYS } from './upload-component.js';
import { loadImages, recordImageBuild, recordImageUpload, type ImageBuild, type ImageKind } from './image-records.js';
import type { BuildPaths } from '../state/paths.js';

export type BuildTemplateCommand = Extract<Command, { kind: 'build-template' }>;
export type UploadTemplateCommand = Extract<Command, { kind: 'upload-template' }>;
export type BuildIsoCommand = Extract<Command, { kind: 'build-iso' }>;

/** The digest list a build of an image publishes, and its detached signature. */
const SUMS = 'SHA256SUMS';
/** What a template recipe leaves to say the template's version (not published). */
const VERSION_FILE = 'VERSION';
/** A template version, as the Upload-template grammar takes it. */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Build-template, Upload-template and Build-iso (docs/build.md, Images): configured recipes
 * (pillar `templates:NAME:command`, `iso:command`) run through the same logged, gated steps
 * as a package build:
 *   build-template-NAME / build-iso     the recipe, live; manifest: its outputs' SHA256SUMS
 *   release-template-NAME / release-iso SHA256SUMS signed (after that log's ticket), the
 *                                       outputs stored under the repository root
 *   upload-template-NAME                a built version copied into templates-itl / templates-community
 *   upload                              that directory to the rpm upload target
 * The refusals below are pure reads of the build state. Each step is reported to GitHub as
 * upstream's template and ISO builds are (report/image-reports.ts, docs/reports.md).
 */

const notThisRelease = (config: BuildConfig, release: string) =>
  (release !== config.release ? `release ${release} is not this env's (${config.env} builds ${config.release})` : undefined);

/** Rule: a build's timestamp must be newer than the last build's of that template or ISO (upstream's rule; the time window is the command service's). */
function notNewer(paths: BuildPaths, kind: ImageKind, name: string, timestamp: string): string | undefined {
  const last = loadImages(paths, kind, name).builds.at(-1);
  return last && timestamp <= last.timestamp ? `${kind === 'iso' ? 'the ISO' : name}: timestamp ${timestamp} is not newer than the last build's (${last.timestamp})` : undefined;
}

/** Build-template: this env's release; a template the env has a recipe for; a timestamp newer than its last build. */
export function buildTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildTemplateCommand, now: Date): string | undefined {
  void now;
  return notThisRelease(config, cmd.release)
    ?? (config.templates?.some((t) => t.name === cmd.template) ? undefined : `template ${cmd.template} has no recipe in env ${config.env}`)
    ?? notNewer(paths, 'template', cmd.template, cmd.timestamp);
}

/** Build-iso: this env's release; the env has an ISO recipe; a timestamp newer than the last ISO build. */
export function buildIsoRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildIsoCommand, now: Date): string | undefined {
  void now;
  return notThisRelease(config, cmd.release)
    ?? (config.iso ? undefined : `env ${config.env} has no ISO recipe`)
    ?? notNewer(paths, 'iso', 'iso', cmd.timestamp);
}

/**
 * Upload-template: this env's release; a configured template; exactly that version and
 * timestamp was built; not already in that repository (said so); built (signed and stored)
 * at least `min-age-days` ago (default 5), upstream's waiting time before a template may go
 * to templates-itl or templates-community, which the status issue's body announces.
 */
export function uploadTemplateRefusal(paths: BuildPaths, config: BuildConfig, cmd: UploadTemplateCommand, now: Date): string | undefined {
  const id = `${cmd.version}-${cmd.timestamp}`;
  const rec = loadImages(paths, 'template', cmd.template);
  const build = rec.builds.find((b) => b.version === cmd.version && b.timestamp === cmd.timestamp);
  return notThisRelease(config, cmd.release)
    ?? (config.templates?.some((t) => t.name === cmd.template) ? undefined : `template ${cmd.template} has no recipe in env ${config.env}`)
    ?? (build ? undefined : `template ${cmd.template} ${id} was never built`)
    ?? (rec.uploads[cmd.repository]?.includes(id) ? `template ${cmd.template} ${id} is already in ${cmd.repository}` : undefined)
    ?? tooYoung(config, `template ${cmd.template} ${id}`, build!.at, now);
}

/** Rule: an image may be uploaded once `min-age-days` have passed since its build was stored (an unreadable time counts as too young). */
function tooYoung(config: BuildConfig, what: string, builtAt: string, now: Date): string | undefined {
  const minAgeDays = config.minAgeDays ?? DEFAULT_MIN_AGE_DAYS;
  const age = now.getTime() - Date.parse(builtAt);
  if (age >= minAgeDays * 86_400_000) return undefined;
  const hours = Number.isFinite(age) ? Math.max(0, Math.floor(age / 3_600_000)) : 0;
  return `${what} was built ${hours} h ago, less than min-age-days (${minAgeDays})`;
}

function refuseIf(why: string | undefined): void {
  if (why) throw new QbuildError('stage', `refused: ${why}`);
}

/** Where a built image is kept: templates/{release}/built/{name}/{id}, iso/{release}/{id}. */
function builtDir(run: JobRun, kind: ImageKind, name: string, id: string): string {
  const root = repositoryRoot(run.ctx);
  return kind === 'iso' ? join(root, 'iso', run.ctx.config.release, id) : join(root, 'templates', run.ctx.config.release, 'built', name, id);
}

interface BuiltImage { version: string; out: string; sums: string; files: { name: string; sha256: string }[] }

/**
 * Runs an image recipe and names its outputs' digest list in `log`'s manifest. Rules: the
 * recipe's outputs are untrusted (collectArtifacts: regular files with label-safe names); it
 * must leave at least one; `SHA256SUMS` and its signature are qbuild's names; a template
 * recipe must leave `VERSION` (one line, the version rule), which is read, not published.
 */
async function runImageRecipe(run: JobRun, argv: string[], vars: Record<string, string>, version: string | undefined, log: BuildLogStream): Promise<BuiltImage> {
  const dir = join(run.ctx.workDir, 'image');
  const out = join(dir, 'out');
  const home = join(dir, 'home');
  const tmp = join(dir, 'tmp');
  rmSync(dir, { recursive: true, force: true });
  for (const d of [out, home, tmp]) mkdirSync(d, { recursive: true, mode: 0o700 });
  log.write(`qbuild: image recipe ${JSON.stringify(argv)} (${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')})\n`);
  const r = await run.executor.run({
    argv, cwd: dir, env: recipeEnv({ home, tmp }, { OUTPUT_DIR: out, ...vars }),
    timeoutMs: TIMEOUT_SECONDS.default * 1000, outputCapBytes: OUTPUT_CAP_BYTES.default,
    onOutput: (chunk) => log.write(chunk), signal: run.ctx.signal,
  });
  if (r.kind !== 'exited' || r.code !== 0) throw new QbuildError('stage', `image recipe ${argv[0]} failed: ${describeResult(r)}`);
  let v = version;
  if (v === undefined) {
    const file = join(out, VERSION_FILE);
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
    if (!VERSION_RE.test(text)) throw new QbuildError('stage', `the template recipe left no valid ${VERSION_FILE} (one line, 1-64 of A-Z a-z 0-9 _ . -)`);
    v = text;
    rmSync(file);
  }
  const artifacts = collectArtifacts(out);
  const files = artifacts.map((a) => ({ name: artifactLabel(out, a), sha256: createHash('sha256').update(readFileSync(a.path)).digest('hex') }));
  if (files.length === 0) throw new QbuildError('stage', 'the image recipe left nothing in OUTPUT_DIR');
  if (files.some((f) => f.name === SUMS || f.name === `${SUMS}.asc`)) throw new QbuildError('stage', `the image recipe may not write ${SUMS}: qbuild writes and signs it`);
  const sums = join(out, SUMS);
  const text = files.map((f) => `${f.sha256}  ${f.name}\n`).join('');
  writeFileSync(sums, text, { flag: 'wx', mode: 0o644 });
  log.write(`qbuild: image ${v}:\n${text}`);
  return { version: v, out, sums, files };
}

/**
 * The logged, gated build of one image: its recipe stage, then its release stage. Returns the
 * stored directory. `onVersion`: told the version once the recipe left it (a template's VERSION).
 */
async function buildImage(
  run: JobRun, kind: ImageKind, name: string, argv: string[], vars: Record<string, string>, timestamp: string,
  version?: string, onVersion?: (version: string) => void,
): Promise<{ dir: string; id: string }> {
  const suffix = kind === 'iso' ? 'iso' : `template-${name}`;
  const label = kind === 'iso' ? 'iso' : `templates/${name}`;
  const built = await run.stage(`build-${suffix}`, async (log) => {
    const b = await runImageRecipe(run, argv, vars, version, log);
    onVersion?.(b.version);
    log.manifest(formDigest('binary', readFileSync(b.sums)), `${label}/${b.version}-${timestamp}/${SUMS}`, 'binary');
    return b;
  });
  const id = `${built.version}-${timestamp}`;
  const dir = builtDir(run, kind, name, id);
  await run.stage(`release-${suffix}`, async (log) => {
    if (existsSync(dir)) throw new QbuildError('stage', `${dir} exists: ${id} was built before`);
    const signer = new TicketedSigner(run.ctx);
    const key = run.ctx.config.signKey;
    await signer.run(`signing ${SUMS}`, () => qbuildSign(run.ctx, writeGpgWrapper(run.ctx), key, 'detach-armor', built.sums, `${built.sums}.asc`));
    log.write(`signed ${label}/${id}/${SUMS} (detach-armor) by ${key}\n`);
    placeDir(built.out, dir);
    const rec: ImageBuild = { version: built.version, timestamp, at: new Date().toISOString(), job: run.job.id, files: built.files };
    recordImageBuild(run.paths, kind, name, rec);
    log.write(`stored ${label} ${id} in ${dir}\n`);
  });
  return { dir, id };
}

/** Copies `from` to `to` as a whole: into `<to>.staging`, then one rename (a reader sees all of it or nothing). */
function placeDir(from: string, to: string): void {
  const staging = `${to}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, staging, { recursive: true });
  renameSync(staging, to);
}

/** Runs an accepted Build-template (checks again first). */
export async function runBuildTemplate(run: JobRun, cmd: BuildTemplateCommand): Promise<void> {
  refuseIf(buildTemplateRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const recipe = run.ctx.config.templates!.find((t) => t.name === cmd.template)!;
  const reports = ImageReports.template(run, cmd.template, cmd.release);
  let id: string | undefined;
  try {
    await buildImage(run, 'template', cmd.template, recipe.argv, { TEMPLATE: cmd.template, RELEASE: cmd.release, TIMESTAMP: cmd.timestamp }, cmd.timestamp,
      undefined, (v) => { id = `${v}-${cmd.timestamp}`; reports.building(id); });
  } catch (e) {
    reports.buildFailed(id ?? unknownTemplateId(run.paths, cmd), e);
    throw e;
  }
  reports.built(id!, reports.stageLog(`build-template-${cmd.template}`));
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

/** Runs an accepted Build-iso (checks again first); the ISO directory is then uploaded. */
export async function runBuildIso(run: JobRun, cmd: BuildIsoCommand): Promise<void> {
  refuseIf(buildIsoRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const reports = ImageReports.iso(run, cmd.release);
  reports.building(cmd.version);
  let built: { dir: string; id: string };
  try {
    built = await buildImage(run, 'iso', 'iso', run.ctx.config.iso!.argv, { ISO_VERSION: cmd.version, RELEASE: cmd.release, TIMESTAMP: cmd.timestamp }, cmd.timestamp, cmd.version);
  } catch (e) {
    reports.buildFailed(cmd.version, e);
    throw e;
  }
  reports.built(cmd.version, reports.stageLog('build-iso'));
  // Upstream's ISO upload goes to its testing repository (iso-testing); no upload target: nothing uploaded, nothing reported.
  const sent = run.ctx.config.upload.rpm !== undefined;
  try {
    await uploadDir(run, built.dir, `iso/${built.id}`, `ISO ${built.id}`);
  } catch (e) {
    if (sent) reports.uploadFailed(cmd.version, 'iso-testing', e);
    throw e;
  }
  if (sent) reports.uploaded(cmd.version, 'iso-testing', run.lastLog());
}

/**
 * Runs an accepted Upload-template (checks again first): the built directory is copied into
 * `templates/{release}/{repository}/{name}/{id}` and uploaded to the rpm target's
 * `{repository}/{name}/{id}/`. The built copy stays.
 */
export async function runUploadTemplate(run: JobRun, cmd: UploadTemplateCommand): Promise<void> {
  refuseIf(uploadTemplateRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const id = `${cmd.version}-${cmd.timestamp}`;
  const from = builtDir(run, 'template', cmd.template, id);
  const to = join(repositoryRoot(run.ctx), 'templates', cmd.release, cmd.repository, cmd.template, id);
  const reports = ImageReports.template(run, cmd.template, cmd.release);
  // Reported as the pipeline's uploads: only with an upload target (else the copy stays in this VM).
  const sent = run.ctx.config.upload.rpm !== undefined;
  try {
    await run.stage(`upload-template-${cmd.template}`, async (log) => {
      if (!existsSync(join(from, `${SUMS}.asc`))) throw new QbuildError('stage', `${from} holds no signed ${SUMS}`);
      if (!existsSync(to)) placeDir(from, to);
      log.write(`${cmd.repository}: template ${cmd.template} ${id} in ${to}\n`);
    });
    await uploadDir(run, to, `${cmd.repository}/${cmd.template}/${id}`, `template ${cmd.template} ${id}`);
  } catch (e) {
    if (sent) reports.uploadFailed(id, cmd.repository, e);
    throw e;
  }
  recordImageUpload(run.paths, 'template', cmd.template, cmd.repository, id);
  if (sent) reports.uploaded(id, cmd.repository, run.lastLog());
}

/** The `upload` stage of an image: `local` to the rpm upload target's `remote`, or logged as not configured. */
async function uploadDir(run: JobRun, local: string, remote: string, what: string): Promise<void> {
  await run.stage('upload', async (log) => {
    const target = run.ctx.config.upload.rpm;
    if (!target) {
      log.write(`upload: no rpm upload target configured (pillar upload:rpm): ${what} not uploaded\n`);
      return;
    }
    await uploadTransfers(run.ctx, [{ target, what, t: { local, remote } }], log);
  });
}
