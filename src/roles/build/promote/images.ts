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
import { loadImages, recordImageBuild, type ImageBuild, type ImageKind } from './image-records.js';
import type { BuildPaths } from '../state/paths.js';

export type BuildTemplateCommand = Extract<Command, { kind: 'build-template' }>;
export type UploadTemplateCommand = Extract<Command, { kind: 'upload-template' }>;
export type BuildIsoCommand = Extract<Command, { kind: 'build-iso' }>;

/** The digest list an ISO build publishes, and its detached signature. */
const SUMS = 'SHA256SUMS';
/** What a template recipe leaves to say the template's version (not published). */
const VERSION_FILE = 'VERSION';
/** A template version, as the Upload-template grammar takes it. */
const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Build-template, Upload-template and Build-iso (docs/build.md, Images): configured recipes
 * (pillar `templates:NAME:command`, `iso:command`) run through the same logged, gated steps
 * as a package build. The ISO's, here:
 *   build-iso     the recipe, live; manifest: its outputs' SHA256SUMS
 *   release-iso   SHA256SUMS signed (after that log's ticket), the outputs stored
 *   upload        that directory to the rpm upload target
 * A template is a signed RPM in a templates RPM repository (templates.ts). The refusals are
 * pure reads of the build state. Each step is reported to GitHub as upstream's template and
 * ISO builds are (report/image-reports.ts, docs/reports.md).
 */

export const notThisRelease = (config: BuildConfig, release: string) =>
  (release !== config.release ? `release ${release} is not this env's (${config.env} builds ${config.release})` : undefined);

/** Rule: a build's timestamp must be newer than the last build's of that template or ISO (upstream's rule; the time window is the command service's). */
export function notNewer(paths: BuildPaths, kind: ImageKind, name: string, timestamp: string): string | undefined {
  const last = loadImages(paths, kind, name).builds.at(-1);
  return last && timestamp <= last.timestamp ? `${kind === 'iso' ? 'the ISO' : name}: timestamp ${timestamp} is not newer than the last build's (${last.timestamp})` : undefined;
}

/** Build-iso: this env's release; the env has an ISO recipe; a timestamp newer than the last ISO build. */
export function buildIsoRefusal(paths: BuildPaths, config: BuildConfig, cmd: BuildIsoCommand, now: Date): string | undefined {
  void now;
  return notThisRelease(config, cmd.release)
    ?? (config.iso ? undefined : `env ${config.env} has no ISO recipe`)
    ?? notNewer(paths, 'iso', 'iso', cmd.timestamp);
}

export function refuseIf(why: string | undefined): void {
  if (why) throw new QbuildError('stage', `refused: ${why}`);
}

/** Where a built image is kept: templates/{release}/built/{name}/{id}, iso/{release}/{id}. */
export function builtDir(run: JobRun, kind: ImageKind, name: string, id: string): string {
  const root = repositoryRoot(run.ctx);
  return kind === 'iso' ? join(root, 'iso', run.ctx.config.release, id) : join(root, 'templates', run.ctx.config.release, 'built', name, id);
}

/**
 * Runs an image recipe in a fresh directory, its output into `log`; returns OUTPUT_DIR and the
 * version. Rule: a template recipe (`version` undefined) must leave `VERSION` (one line, the
 * version rule), which is read and removed, not published.
 */
export async function runImageRecipe(run: JobRun, argv: string[], vars: Record<string, string>, version: string | undefined, log: BuildLogStream): Promise<{ version: string; out: string }> {
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
  if (version !== undefined) return { version, out };
  const file = join(out, VERSION_FILE);
  const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!VERSION_RE.test(text)) throw new QbuildError('stage', `the template recipe left no valid ${VERSION_FILE} (one line, 1-64 of A-Z a-z 0-9 _ . -)`);
  rmSync(file);
  return { version: text, out };
}

/**
 * Writes `out`'s SHA256SUMS (sha256sum's format) and returns it with the list. Rules: the
 * recipe's outputs are untrusted (collectArtifacts: regular files with label-safe names); it
 * must leave at least one; `SHA256SUMS` and its signature are qbuild's names.
 */
function writeSums(out: string, version: string, log: BuildLogStream): { sums: string; files: { name: string; sha256: string }[] } {
  const files = collectArtifacts(out).map((a) => ({ name: artifactLabel(out, a), sha256: createHash('sha256').update(readFileSync(a.path)).digest('hex') }));
  if (files.length === 0) throw new QbuildError('stage', 'the image recipe left nothing in OUTPUT_DIR');
  if (files.some((f) => f.name === SUMS || f.name === `${SUMS}.asc`)) throw new QbuildError('stage', `the image recipe may not write ${SUMS}: qbuild writes and signs it`);
  const sums = join(out, SUMS);
  const text = files.map((f) => `${f.sha256}  ${f.name}\n`).join('');
  writeFileSync(sums, text, { flag: 'wx', mode: 0o644 });
  log.write(`qbuild: image ${version}:\n${text}`);
  return { sums, files };
}

/** The logged, gated build of the ISO: its recipe stage, then its release stage. Returns the stored directory. */
async function buildIso(run: JobRun, vars: Record<string, string>, version: string, timestamp: string): Promise<{ dir: string; id: string }> {
  const id = `${version}-${timestamp}`;
  const built = await run.stage('build-iso', async (log) => {
    const { out } = await runImageRecipe(run, run.ctx.config.iso!.argv, vars, version, log);
    const b = { out, ...writeSums(out, version, log) };
    log.manifest(formDigest('binary', readFileSync(b.sums)), `iso/${id}/${SUMS}`, 'binary');
    return b;
  });
  const dir = builtDir(run, 'iso', 'iso', id);
  await run.stage('release-iso', async (log) => {
    if (existsSync(dir)) throw new QbuildError('stage', `${dir} exists: ${id} was built before`);
    const key = run.ctx.config.signKey;
    await new TicketedSigner(run.ctx).run(`signing ${SUMS}`, () => qbuildSign(run.ctx, writeGpgWrapper(run.ctx), key, 'detach-armor', built.sums, `${built.sums}.asc`));
    log.write(`signed iso/${id}/${SUMS} (detach-armor) by ${key}\n`);
    placeDir(built.out, dir);
    const rec: ImageBuild = { version, timestamp, at: new Date().toISOString(), job: run.job.id, files: built.files };
    recordImageBuild(run.paths, 'iso', 'iso', rec);
    log.write(`stored iso ${id} in ${dir}\n`);
  });
  return { dir, id };
}

/** Copies `from` to `to` as a whole: into `<to>.staging`, then one rename (a reader sees all of it or nothing). */
export function placeDir(from: string, to: string): void {
  const staging = `${to}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, staging, { recursive: true });
  renameSync(staging, to);
}

/** Runs an accepted Build-iso (checks again first); the ISO directory is then uploaded. */
export async function runBuildIso(run: JobRun, cmd: BuildIsoCommand): Promise<void> {
  refuseIf(buildIsoRefusal(run.paths, run.ctx.config, cmd, new Date()));
  const reports = ImageReports.iso(run, cmd.release);
  reports.building(cmd.version);
  let built: { dir: string; id: string };
  try {
    built = await buildIso(run, { ISO_VERSION: cmd.version, RELEASE: cmd.release, TIMESTAMP: cmd.timestamp }, cmd.version, cmd.timestamp);
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

/** The `upload` stage of an image: `local` to the rpm upload target's `remote`, or logged as not configured. */
export async function uploadDir(run: JobRun, local: string, remote: string, what: string): Promise<void> {
  await run.stage('upload', async (log) => {
    const target = run.ctx.config.upload.rpm;
    if (!target) {
      log.write(`upload: no rpm upload target configured (pillar upload:rpm): ${what} not uploaded\n`);
      return;
    }
    await uploadTransfers(run.ctx, [{ target, what, t: { local, remote } }], log);
  });
}

// The command service and the command jobs take every image command from here.
export { buildTemplateRefusal, runBuildTemplate, runUploadTemplate, uploadTemplateRefusal } from './templates.js';
