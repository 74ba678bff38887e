import type { BuildConfig } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import { startReportDispatch, type ReportDispatch } from './dispatch.js';
import { GithubReporter } from './github-reporter.js';

/** Upstream's default min-age-days, for the issue body's "available N days from now". */
const DEFAULT_MIN_AGE_DAYS = 5;

/**
 * Starts delivering queued reports when the build VM's config has a `github` section; without
 * one reporting is off and the queue, if anything writes to it, just waits.
 */
export function startReporting(config: BuildConfig, paths: BuildPaths, say: (line: string) => void): ReportDispatch | undefined {
  const g = config.github;
  if (!g) return undefined;
  const { retryBaseMs, retryMaxMs, ...where } = g;
  const reporter = new GithubReporter(where, { minAgeDays: config.minAgeDays ?? DEFAULT_MIN_AGE_DAYS, dists: config.dists.map((d) => d.name) });
  say(`reporting to GitHub: ${g.statusRepo} at ${g.apiUrl}`);
  return startReportDispatch({ paths, reporter, say, retryBaseMs, retryMaxMs });
}
