import { StageFailed, type JobRun } from '../pipeline/job-run.js';
import type { ImageEvent, ImageRef, ImageRepository } from './events.js';
import { TAIL_LINES } from './messages.js';
import { queueReport } from './queue.js';
import { logTail } from './tail.js';

type Ref = Omit<ImageRef, 'version'>;
/** An image event without what the reporter knows already (Omit per member of the union). */
type Step = ImageEvent extends infer E ? (E extends ImageEvent ? Omit<E, keyof Ref> : never) : never;

/**
 * The reports of Build-template, Upload-template and Build-iso (docs/reports.md, Templates
 * and ISO), as upstream's AutoActionTemplate / AutoActionISO notify. Queued only, as the
 * pipeline's (pipeline-reports.ts): nothing waits on GitHub or fails the command's job; with
 * reporting off (no `github` config) nothing is queued; a daemon stopping mid-stage is no
 * failure and reports none.
 */
export class ImageReports {
  private readonly on: boolean;
  constructor(private readonly run: JobRun, private readonly ref: Ref) {
    this.on = run.ctx.config.github !== undefined;
  }

  static template(run: JobRun, name: string, release: string): ImageReports {
    return new ImageReports(run, { image: 'template', name, release });
  }

  static iso(run: JobRun, release: string): ImageReports {
    return new ImageReports(run, { image: 'iso', name: 'iso', release });
  }

  private queue(e: Step): void {
    if (this.on) queueReport(this.run.paths, { ...this.ref, ...e } as ImageEvent);
  }

  /** The stored path of stage `name`'s log ('' when the logs VM did not confirm it: no link). */
  stageLog(name: string): string {
    return this.run.job.stages.filter((s) => s.name === name).at(-1)?.log ?? '';
  }

  /** The failed stage of `e` (the job's last stage, when it is the one that failed): its stored log and its local copy's tail. */
  private failure(e: unknown): { logPath: string; tail: string[] } | undefined {
    if (!(e instanceof StageFailed) || this.run.ctx.signal.aborted) return undefined;
    const rec = this.run.job.stages.at(-1);
    if (rec?.name !== e.stage) return undefined;
    return { logPath: rec.log ?? '', tail: logTail(rec.localLog, TAIL_LINES) };
  }

  building(version: string): void {
    this.queue({ kind: 'image-building', version });
  }

  built(version: string, logPath: string): void {
    this.queue({ kind: 'image-built', version, logPath });
  }

  /** `e` ended the build: a failed stage is upstream's "failed to build"; anything else (a refusal, a stop) reports nothing. */
  buildFailed(version: string, e: unknown): void {
    const f = this.failure(e);
    if (f) this.queue({ kind: 'image-build-failed', version, ...f });
  }

  uploaded(version: string, repository: ImageRepository, logPath: string): void {
    this.queue({ kind: 'image-uploaded', version, repository, logPath });
  }

  uploadFailed(version: string, repository: ImageRepository, e: unknown): void {
    const f = this.failure(e);
    if (f) this.queue({ kind: 'image-upload-failed', version, repository, ...f });
  }
}
