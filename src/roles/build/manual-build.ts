import { stateDir } from '../../config.js';
import { QbuildError } from '../../errors.js';
import { checkComponentName } from '../../protocol/github/component.js';
import { loadBuildConfig } from './config.js';
import { daemonAlive } from './daemon-alive.js';
import { followJob } from './follow.js';
import { buildPaths } from './state/paths.js';
import { enqueue } from './state/queue.js';

export interface ManualBuildOptions { follow: boolean; wait: boolean }

/**
 * `qbuild build COMPONENT`: queues a job exactly as TriggerBuild does (same queue, same
 * pipeline, same logs), then follows it: a line per stage with its log path, `--follow` the
 * live log too. Exit 0 when the job ends ok or skipped (already published), 1 otherwise.
 */
export async function manualBuild(component: string, o: ManualBuildOptions): Promise<number> {
  checkComponentName(component);
  const state = stateDir();
  const config = loadBuildConfig(state);
  if (!config.components.some((c) => c.name === component)) {
    throw new QbuildError('usage', `${component} is not a component of env ${config.env} (known: ${config.components.map((c) => c.name).join(', ') || 'none'})`);
  }
  const paths = buildPaths(state);
  const q = enqueue(paths, component, 'local');
  const out = (s: string) => process.stdout.write(s);
  out(`${q.coalesced ? 'joined waiting' : 'queued'} job ${q.id}\n`);
  if (!o.wait) return 0;
  const alive = daemonAlive(paths);
  if (!alive) process.stderr.write('qbuild: build: no build daemon is running here (qbuild role build --serve); waiting 60 s for one\n');
  const job = await followJob(paths, q.id, { tail: o.follow, out, ...(alive ? {} : { startTimeoutMs: 60_000 }) });
  if (!job) throw new QbuildError('io', `job ${q.id} vanished`);
  if (job.state === 'queued') throw new QbuildError('stage', `job ${q.id} is queued, but no build daemon picked it up`);
  out(`job ${job.id}: ${job.state}${job.version ? ` (${component} ${job.version})` : ''}${job.reason ? `: ${job.reason}` : ''}\n`);
  return job.state === 'ok' || job.state === 'skipped' ? 0 : 1;
}
