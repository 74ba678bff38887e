import { oneLine, QbuildError } from '../../../errors.js';
import type { Transport } from '../../../protocol/qrexec/transport.js';
import { openBuildLog, type BuildLogStream } from '../log-stream.js';
import type { Executor } from '../executor/executor.js';
import { saveJob, type JobRecord, type JobState, type StageRecord } from '../state/job-record.js';
import type { BuildPaths } from '../state/paths.js';
import { formatBuildMeta } from '../../../protocol/provenance/build-meta.js';
import { teeLog } from './stage-log.js';
import type { BuildConfig, StageContext } from './types.js';

/** What a job needs from the daemon that runs it. */
export interface JobDeps {
  config: BuildConfig;
  paths: BuildPaths;
  transport: Transport;
  env: NodeJS.ProcessEnv;
  qbuildBin: string;
  executor: Executor;
  signal: AbortSignal;
  /** The daemon's own log (stderr). */
  say(line: string): void;
}

/** A stage failed: the job ends `failed` (or `refused` for a source that did not verify). */
export class StageFailed extends Error {
  constructor(readonly stage: string, override readonly cause: QbuildError | Error) {
    super(`${stage}: ${oneLine(cause)}`);
  }
}

/**
 * One job in progress: opens each stage's BuildLog stream, keeps the job record current
 * (durably, after every stage change) so `qbuild build` and `role build status` can follow.
 */
export class JobRun {
  readonly ctx: StageContext;
  constructor(readonly job: JobRecord, private readonly d: JobDeps, workDir: string) {
    this.ctx = {
      config: d.config,
      env: d.env,
      qbuildBin: d.qbuildBin,
      workDir,
      openLog: (stage) => this.open(stage).log,
      signal: d.signal,
    };
  }

  save(): void {
    saveJob(this.d.paths, this.job);
  }

  /** The build role's state (for stages that read or record it, e.g. a promotion). */
  get paths(): BuildPaths {
    return this.d.paths;
  }

  /** The daemon's own log: a line there (a report not made) concerns no stage. */
  say(line: string): void {
    this.d.say(line);
  }

  /** What runs untrusted recipes (for stages other than a component's build, e.g. an image recipe). */
  get executor(): Executor {
    return this.d.executor;
  }

  private open(stage: string): { rec: StageRecord; log: BuildLogStream } {
    const rec: StageRecord = { name: stage, status: 'running', startedAt: new Date().toISOString(), localLog: this.d.paths.stageLog(this.job.id, stage) };
    const log = teeLog(openBuildLog(this.d.transport, this.job.component), rec.localLog);
    const v = this.job.version ? ` ${this.job.version}` : '';
    log.write(`qbuild stage ${stage}: ${this.job.component}${v}, job ${this.job.id} (attempt ${this.job.attempt}) on ${this.d.config.vm}\n`);
    // Facts the logs VM's provenance reads back from the log (docs/transparency.md).
    const dist = this.d.config.dists.find((x) => stage.endsWith(`-${x.name}`))?.name;
    log.write(formatBuildMeta({
      component: this.job.component, tag: this.job.version ? `v${this.job.version}` : undefined, commit: this.job.commit,
      release: this.d.config.release, dist, env: this.d.config.env, job: this.job.id, stage,
    }));
    this.job.stages.push(rec);
    this.save();
    return { rec, log };
  }

  /**
   * Runs `fn` as stage `name` in its own log stream. The stream always ends with the end
   * marker, also when the stage fails (its last line then says why), so every stage's log is
   * complete, published evidence; the logs VM tickets whatever the manifest named. A stage
   * whose log the logs VM did not confirm has failed, whatever it did.
   */
  async stage<T>(name: string, fn: (log: BuildLogStream) => Promise<T>): Promise<T> {
    const { rec, log } = this.open(name);
    this.d.say(`${this.job.id}: stage ${name}`);
    let value: T | undefined;
    let failure: Error | undefined;
    try {
      if (this.d.signal.aborted) throw new QbuildError('stage', 'the build daemon is stopping');
      value = await fn(log);
      log.write(`qbuild stage ${name}: done\n`);
    } catch (e) {
      failure = e as Error;
      log.write(`\nqbuild stage ${name}: FAILED: ${oneLine(e)}\n`);
    }
    try {
      rec.log = await log.finish();
    } catch (e) {
      failure ??= new QbuildError('stage', `its log was not stored: ${oneLine(e)}`);
    }
    rec.status = failure ? 'failed' : 'ok';
    if (failure) rec.reason = oneLine(failure);
    rec.endedAt = new Date().toISOString();
    this.save();
    if (failure) throw new StageFailed(name, failure);
    return value as T;
  }

  /** The stored path of the last stage's log. */
  lastLog(): string {
    return this.job.stages[this.job.stages.length - 1]?.log ?? '';
  }

  /** Ends the job with a final state, recorded durably. */
  finish(state: JobState, reason?: string): JobState {
    this.job.state = state;
    if (reason) this.job.reason = reason;
    this.job.finishedAt = new Date().toISOString();
    this.save();
    return state;
  }
}
