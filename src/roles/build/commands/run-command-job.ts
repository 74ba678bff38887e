import { mkdirSync, rmSync } from 'node:fs';
import { oneLine } from '../../../errors.js';
import type { Command } from '../../../protocol/github/command/grammar.js';
import { JobRun, StageFailed, type JobDeps } from '../pipeline/job-run.js';
import { runBuildIso, runBuildTemplate, runUploadTemplate } from '../promote/images.js';
import { runUploadComponent } from '../promote/upload-component.js';
import type { JobRecord, JobState } from '../state/job-record.js';
import { writeCommandResultLog } from './command-log.js';
import { promoteRefusal } from './promote-refusal.js';

function runPromotion(run: JobRun, c: Command): Promise<void> {
  switch (c.kind) {
    case 'upload-component': return runUploadComponent(run, c);
    case 'build-template': return runBuildTemplate(run, c);
    case 'upload-template': return runUploadTemplate(run, c);
    case 'build-iso': return runBuildIso(run, c);
  }
}

/** The job's end as lines of the command log: the command, who signed it, the result and every stage's stored log. */
function resultLines(job: JobRecord, vm: string): string[] {
  const c = job.command;
  return [
    `qbuild command result: job ${job.id} (attempt ${job.attempt}) on ${vm}`,
    `command: ${c?.line ?? '?'}`,
    `signer: ${c?.signer ?? '?'}`,
    `signature: sha256 ${c?.digest ?? '?'}`,
    `result: ${job.state}${job.reason ? `: ${job.reason}` : ''}`,
    ...job.stages.map((s) => `stage ${s.name}: ${s.status}${s.log ? ` ${s.log}` : ''}`),
  ];
}

/**
 * A command job (queued by ProcessGithubCommand, docs/commands.md): runs the promotion
 * code's run function for the command, its stages logged and gated as a build's are. The
 * promotion's refusal check runs again first (the state may have changed since the command
 * was accepted: another build, a newer template). When the job ends (not when the daemon
 * stops it mid-way) its result goes to the command log as a second stream, so the public
 * record of a command is its acceptance entry and its result entry, linked by job id.
 */
export async function runCommandJob(job: JobRecord, d: JobDeps): Promise<JobState | 'interrupted'> {
  const work = d.paths.work(job.id);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  const run = new JobRun(job, d, work);
  let state: JobState;
  try {
    const c = job.command;
    if (!c) {
      state = run.finish('failed', 'a command job without its command');
    } else {
      const refusal = promoteRefusal(d.paths, d.config, c.command, new Date());
      if (refusal) {
        state = run.finish('refused', refusal);
      } else {
        await runPromotion(run, c.command);
        state = run.finish('ok');
      }
    }
  } catch (e) {
    if (d.signal.aborted) return 'interrupted';
    state = run.finish('failed', e instanceof StageFailed ? e.message : oneLine(e));
  } finally {
    if (!d.signal.aborted) rmSync(work, { recursive: true, force: true });
  }
  try {
    await writeCommandResultLog(d.transport, resultLines(job, d.config.vm));
  } catch (e) {
    d.say(`${job.id}: the command result was not stored in the command log: ${oneLine(e)}`);
  }
  return state;
}
