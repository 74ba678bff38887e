import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';
import type { BuildPaths } from './paths.js';

export interface BuiltVersion {
  version: string;
  commit: string;
  /** When the version went live in current-testing (what min-age-days counts from). */
  at: string;
  job: string;
  /** The files its publication put in the dist's tree (publish.ts publishedFiles): what Upload-component copies. */
  files?: string[];
}

/** dist name → the version last published to current-testing for that dist. */
export type BuiltVersions = Record<string, BuiltVersion>;

export function loadBuilt(p: BuildPaths, component: string): BuiltVersions {
  try {
    const v = JSON.parse(readFileSync(p.built(component), 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as BuiltVersions) : {};
  } catch {
    return {};
  }
}

/** Records that `dist` now has `v` published, durably, after the repository swap. */
export function recordBuilt(p: BuildPaths, component: string, dist: string, v: BuiltVersion): void {
  const all = loadBuilt(p, component);
  all[dist] = v;
  mkdirSync(dirname(p.built(component)), { recursive: true, mode: 0o700 });
  writeAtomically(p.built(component), `${JSON.stringify(all, null, 1)}\n`);
}
