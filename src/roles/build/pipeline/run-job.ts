import { mkdirSync, rmSync } from 'node:fs';
import { oneLine } from '../../../errors.js';
import { fetchSource } from '../fetch/fetch-source.js';
import { buildStage } from '../stages/build.js';
import { signPackages, signChanges } from '../stages/sign.js';
import { stagePublish, commitPublish } from '../stages/publish.js';
import { uploadStage } from '../stages/upload.js';
import { loadBuilt, recordBuilt } from '../state/built-versions.js';
import type { JobRecord, JobState } from '../state/job-record.js';
import { distsToBuild } from './dists-to-build.js';
import { JobRun, StageFailed, type JobDeps } from './job-run.js';
import type { BuiltDist, PublishedDist } from './types.js';

/**
 * One build job, top to bottom as the stages (docs/build.md). Each stage is its own BuildLog
 * stream, so the logs VM has stored and ticketed what a stage's manifest names before the
 * next stage asks for a signature:
 *   fetch    verify the maintainer-signed tag on the branch head (refusal = published log)
 *   build    per dist: the recipe's output live; manifest: RPM headers, .dsc, .buildinfo
 *   sign     per dist: packages signed (waits for the build log's ticket); manifest: .changes
 *   publish  per dist: a staged copy of current-testing with the packages; manifest: its metadata
 *   release  .changes and metadata signed (waits for those tickets); every dist's tree swapped in
 *   upload   rsync of the published trees over ssh through sys-net's local.ConnectSSH
 * A failed stage ends the job; no tree is swapped in unless every dist reached `release`.
 */
export async function runJob(job: JobRecord, d: JobDeps): Promise<JobState | 'interrupted'> {
  const work = d.paths.work(job.id);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const run = new JobRun(job, d, work);
  try {
    const comp = d.config.components.find((c) => c.name === job.component);
    if (!comp) return run.finish('refused', `${job.component} is not a component of env ${d.config.env} (pillar build-envs:${d.config.env}:components)`);

    const src = await run.stage('fetch', (log) => fetchSource(run.ctx, comp, log));
    Object.assign(job, { version: src.version, commit: src.commit });
    run.save();
    const dists = distsToBuild(comp, d.config.dists, loadBuilt(d.paths, comp.name), src.version);
    if (dists.length === 0) return run.finish('skipped', `${comp.name} ${src.version} is already published for every dist it builds for`);

    const built: BuiltDist[] = [];
    for (const dist of dists) {
      const artifacts = await run.stage(`build-${dist.name}`, (log) => buildStage(run.ctx, src, comp, dist, log, d.executor));
      built.push({ dist, artifacts, logPath: run.lastLog() });
    }
    const signed = [];
    for (const b of built) signed.push(await run.stage(`sign-${b.dist.name}`, (log) => signPackages(run.ctx, b, log)));

    const staged = [];
    for (const b of built) staged.push(await run.stage(`publish-${b.dist.name}`, (log) => stagePublish(run.ctx, b, log)));

    const published = await run.stage('release', async (log) => {
      for (const s of signed) await signChanges(run.ctx, s, log);
      const out: PublishedDist[] = [];
      for (const s of staged) out.push(await commitPublish(run.ctx, s, log));
      for (const p of out) {
        recordBuilt(d.paths, comp.name, p.dist.name, { version: src.version, commit: src.commit, at: new Date().toISOString(), job: job.id });
        log.write(`published ${comp.name} ${src.version} for ${p.dist.name} in ${p.repoDir}\n`);
      }
      return out;
    });

    await run.stage('upload', (log) => uploadStage(run.ctx, published, log));
    return run.finish('ok');
  } catch (e) {
    if (d.signal.aborted) return 'interrupted';
    if (e instanceof StageFailed) {
      const refused = e.stage === 'fetch' && (e.cause as { code?: string }).code === 'source';
      return run.finish(refused ? 'refused' : 'failed', e.message);
    }
    return run.finish('failed', oneLine(e));
  } finally {
    if (!d.signal.aborted) rmSync(work, { recursive: true, force: true });
  }
}
