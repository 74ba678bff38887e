import type { BuildConfig } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import { listQueued } from './queue.js';

/** `qbuild role build status`'s reporting line: off, or where reports go and how many wait. */
export function reportStatus(config: BuildConfig, paths: BuildPaths): string {
  if (!config.github) return 'reports to GitHub: off (pillar build_report_repo not set)';
  const waiting = listQueued(paths).length;
  return `reports to GitHub: ${config.github.statusRepo} at ${config.github.apiUrl}; ${waiting} queued`;
}
