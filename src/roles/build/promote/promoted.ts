import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';
import type { BuildPaths } from '../state/paths.js';

/** A component version copied into current or security-testing by Upload-component. */
export interface PromotedVersion { version: string; commit: string; at: string; job: string }

export type PromotionTarget = 'current' | 'security-testing';

/** dist name → repository → the version last promoted there. */
export type Promotions = Record<string, Partial<Record<PromotionTarget, PromotedVersion>>>;

/** `build/promoted/<component>.json`, beside `build/built/`. */
export function promotedFile(p: BuildPaths, component: string): string {
  return join(p.root, 'promoted', `${component}.json`);
}

export function loadPromoted(p: BuildPaths, component: string): Promotions {
  try {
    const v = JSON.parse(readFileSync(promotedFile(p, component), 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Promotions) : {};
  } catch {
    return {};
  }
}

/** Records, durably and after the target's swap, that `dist`'s `repository` now holds `v`. */
export function recordPromoted(p: BuildPaths, component: string, dist: string, repository: PromotionTarget, v: PromotedVersion): void {
  const all = loadPromoted(p, component);
  all[dist] = { ...all[dist], [repository]: v };
  const file = promotedFile(p, component);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeAtomically(file, `${JSON.stringify(all, null, 1)}\n`);
}
