import { mkdirSync, rmSync } from 'node:fs';
import { oneLine } from '../../../errors.js';
import { fetchSource } from '../fetch/fetch-source.js';
import { buildStage } from '../stages/build.js';
import { signChanges, signStage, type PendingChanges } from '../stages/sign.js';
import { abandonPublish, completePublish, publishedFiles, stagePublish } from '../stages/publish.js';
import { uploadStage } from '../stages/upload.js';
import { PipelineReports } from '../report/pipeline-reports.js';
import { loadBuilt, recordBuilt } from '../state/built-versions.js';
import type { JobRecord, JobState } from '../state/job-record.js';
import { distsToBuild } from './dists-to-build.js';
import { JobRun, StageFailed, type JobDeps } from './job-run.js';
import type { BuiltDist, PublishedDist, SourceCheckout } from './types.js';

/**
 * One build job, top to bottom as its stages (docs/build.md). Each stage is its own BuildLog
 * stream, so the logs VM has stored, published and ticketed what a stage's manifest names
 * before a later stage asks the keys VM to sign it:
 *   fetch            the maintainer-signed `v*` tag on the branch head, verified (a refusal is a published log)
 *   build-DIST       the recipe's output, live; manifest: RPM headers, .dsc, .buildinfo
 *   sign-DIST        packages signed (after the build log's ticket); manifest: the rewritten .changes
 *   publish-DIST     a staged copy of the dist's current-testing with the packages; manifest: its metadata
 *   release-DIST     .changes and metadata signed (after those tickets); the staged tree swapped in
 *   upload           the published trees, rsync over ssh through sys-net's local.ConnectSSH
 * Every dist is built and signed before any is published; a failed stage ends the job, and a
 * dist whose release did not complete keeps its repository exactly as it was.
 */
export async function runJob(job: JobRecord, d: JobDeps): Promise<JobState | 'interrupted'> {
  const work = d.paths.work(job.id);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const run = new JobRun(job, d, work);
  const reports = new PipelineReports(d.config, d.paths, d.say);
  let reporting: { src: SourceCheckout; dists: BuiltDist['dist'][]; published?: PublishedDist[] } | undefined;
  try {
    const comp = d.config.components.find((c) => c.name === job.component);
    if (!comp) return run.finish('refused', `${job.component} is not a component of env ${d.config.env}`);

    const src = await run.stage('fetch', (log) => fetchSource(run.ctx, comp, log));
    Object.assign(job, { version: src.version, commit: src.commit });
    run.save();
    const dists = distsToBuild(comp, d.config.dists, loadBuilt(d.paths, comp.name), src.version);
    if (dists.length === 0) return run.finish('skipped', `${comp.name} ${src.version} is already published for every dist it builds for`);
    await reports.started(src, comp, dists);
    reporting = { src, dists };

    const built: BuiltDist[] = [];
    for (const dist of dists) {
      const artifacts = await run.stage(`build-${dist.name}`, (log) => buildStage(run.ctx, src, comp, dist, log, d.executor));
      built.push({ dist, artifacts, logPath: run.lastLog() });
    }
    const pending: (PendingChanges | undefined)[] = [];
    for (const b of built) pending.push(await run.stage(`sign-${b.dist.name}`, (log) => signStage(run.ctx, b, log)));

    const published: PublishedDist[] = [];
    reporting.published = published;
    for (const [i, b] of built.entries()) {
      const staged = await run.stage(`publish-${b.dist.name}`, (log) => stagePublish(run.ctx, b, log));
      const publishLog = run.lastLog();
      published.push(await run.stage(`release-${b.dist.name}`, async (log) => {
        try {
          const changes = pending[i];
          if (changes) await signChanges(run.ctx, changes, log);
          const p = await completePublish(run.ctx, staged, publishLog, log);
          recordBuilt(d.paths, comp.name, p.dist.name, { version: src.version, commit: src.commit, at: new Date().toISOString(), job: job.id, files: publishedFiles(b) });
          log.write(`released ${comp.name} ${src.version} for ${p.dist.name} into ${p.repoDir}\n`);
          reports.built(src, p.dist, b.logPath);
          return p;
        } catch (e) {
          abandonPublish(staged);
          throw e;
        }
      }));
    }

    await run.stage('upload', (log) => uploadStage(run.ctx, published, log));
    await reports.uploaded(src, published, run.lastLog());
    return run.finish('ok');
  } catch (e) {
    if (d.signal.aborted) return 'interrupted';
    if (e instanceof StageFailed) {
      // A dist's build, sign, publish or release failing is upstream's "failed to build" for it.
      const dist = reporting?.dists.find((x) => e.stage.endsWith(`-${x.name}`));
      const rec = job.stages[job.stages.length - 1];
      if (reporting && dist && rec?.name === e.stage) reports.failed(reporting.src, dist, rec.log ?? '', rec.localLog);
      if (reporting?.published && e.stage === 'upload' && rec?.name === 'upload') reports.uploadFailed(reporting.src, reporting.published, rec.log ?? '', rec.localLog);
      const refused = e.stage === 'fetch' && (e.cause as { code?: string }).code === 'source';
      return run.finish(refused ? 'refused' : 'failed', e.message);
    }
    return run.finish('failed', oneLine(e));
  } finally {
    if (!d.signal.aborted) rmSync(work, { recursive: true, force: true });
  }
}
