import type { BuildConfig } from '../pipeline/types.js';
// The same default the promotions apply, so the issue body's "available N days from now" holds.
import { DEFAULT_MIN_AGE_DAYS } from '../promote/upload-component.js';
import type { BuildPaths } from '../state/paths.js';
import { startReportDispatch, type ReportDispatch } from './dispatch.js';
import { GithubReporter } from './github-reporter.js';
import { listQueued, removeQueued } from './queue.js';

/**
 * Starts delivering queued reports when the build VM's config has a `github` section. Without
 * one reporting is off: what was queued (before it was turned off) is dropped, so the queue
 * cannot grow without bound and old news is not posted if it is turned on again months later.
 */
export function startReporting(config: BuildConfig, paths: BuildPaths, say: (line: string) => void): ReportDispatch | undefined {
  const g = config.github;
  if (!g) {
    const left = listQueued(paths);
    for (const q of left) removeQueued(q.file);
    if (left.length) say(`reporting to GitHub is off (no github config): ${left.length} queued report(s) dropped`);
    return undefined;
  }
  const { retryBaseMs, retryMaxMs, ...where } = g;
  const reporter = new GithubReporter(where, { minAgeDays: config.minAgeDays ?? DEFAULT_MIN_AGE_DAYS, dists: config.dists.map((d) => d.name) });
  say(`reporting to GitHub: ${g.statusRepo} at ${g.apiUrl}; announcements on ${g.issuesRepo}`);
  return startReportDispatch({ paths, reporter, say, retryBaseMs, retryMaxMs });
}
