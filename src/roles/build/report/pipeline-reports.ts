import { oneLine } from '../../../errors.js';
import type { BuildConfig, ComponentConfig, Dist, PublishedDist, SourceCheckout } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import { announceTestingUpload } from './announce.js';
import { describeChanges } from './changes.js';
import { TAIL_LINES } from './messages.js';
import { queueReport } from './queue.js';
import { logTail } from './tail.js';

/**
 * The build pipeline's reports (docs/reports.md), as upstream's AutoAction notifies: building
 * per dist when the builds start, built once a dist is signed and released into its
 * repository, failed with the tail of the failing stage's log, uploaded to current-testing
 * after the upload (or failed to upload, with that log's tail), then the announcements on the
 * issues the new commits fix. Queued only: nothing here waits on GitHub or fails the job; with
 * reporting off (no `github` config) nothing is queued.
 */
export class PipelineReports {
  private readonly on: boolean;
  constructor(private readonly config: BuildConfig, private readonly paths: BuildPaths, private readonly say: (line: string) => void) {
    this.on = config.github !== undefined;
  }

  private base(src: SourceCheckout, dist: Dist) {
    return { component: src.component, version: src.version, release: this.config.release, dist: dist.name };
  }

  async started(src: SourceCheckout, comp: ComponentConfig, dists: Dist[]): Promise<void> {
    if (!this.on) return;
    const changes = await describeChanges(src.gitDir, src.commit, comp.url, this.config.github!.issuesRepo)
      .catch((e) => { this.say(`report: no shortlog for ${src.component} ${src.version}: ${oneLine(e)}`); return undefined; });
    for (const [i, dist] of dists.entries()) {
      queueReport(this.paths, { kind: 'build-started', ...this.base(src, dist), commit: src.commit, ...(i === 0 && changes ? { changes } : {}) });
    }
  }

  built(src: SourceCheckout, dist: Dist, buildLogPath: string): void {
    if (this.on) queueReport(this.paths, { kind: 'built', ...this.base(src, dist), logPath: buildLogPath });
  }

  /** `localLog`: the build VM's copy of the failed stage's log, whose tail goes into the report. */
  failed(src: SourceCheckout, dist: Dist, logPath: string, localLog: string): void {
    if (this.on) queueReport(this.paths, { kind: 'build-failed', ...this.base(src, dist), logPath, tail: logTail(localLog, TAIL_LINES) });
  }

  /** The upload stage failed: each dist it was to send (those whose format has an upload target). */
  uploadFailed(src: SourceCheckout, published: PublishedDist[], logPath: string, localLog: string): void {
    if (!this.on) return;
    const tail = logTail(localLog, TAIL_LINES);
    for (const p of published) {
      if (this.config.upload[p.dist.format]) queueReport(this.paths, { kind: 'upload-failed', ...this.base(src, p.dist), repository: 'current-testing', logPath, tail });
    }
  }

  /**
   * Dists whose format has no upload target were not uploaded (the upload stage says so): no
   * report. Each uploaded dist is then announced on the issues its new commits fix (announce.ts).
   */
  async uploaded(src: SourceCheckout, published: PublishedDist[], uploadLogPath: string): Promise<void> {
    if (!this.on) return;
    const url = this.config.components.find((c) => c.name === src.component)?.url ?? '';
    for (const p of published) {
      if (!this.config.upload[p.dist.format]) continue;
      queueReport(this.paths, { kind: 'uploaded', ...this.base(src, p.dist), repository: 'current-testing', logPath: uploadLogPath });
      await announceTestingUpload(this.config, this.paths, { component: src.component, version: src.version, dist: p.dist, commit: src.commit, url }, src.gitDir, this.say);
    }
  }
}
