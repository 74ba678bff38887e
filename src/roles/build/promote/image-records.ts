import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';
import type { BuildPaths } from '../state/paths.js';

export type ImageKind = 'template' | 'iso';

/** One build of a template or ISO: its outputs' names and digests (what its signed SHA256SUMS lists). */
export interface ImageBuild { version: string; timestamp: string; at: string; job: string; files: { name: string; sha256: string }[] }

export interface ImageRecord {
  /** Oldest first; the newest KEEP. */
  builds: ImageBuild[];
  /** Repository → the `<version>-<timestamp>` ids uploaded there. */
  uploads: Partial<Record<'templates-itl' | 'templates-community', string[]>>;
}

const KEEP = 50;

/** `build/images/<kind>-<name>.json` (the ISO's name is `iso`). */
function imageFile(p: BuildPaths, kind: ImageKind, name: string): string {
  return join(p.root, 'images', `${kind}-${name}.json`);
}

export function loadImages(p: BuildPaths, kind: ImageKind, name: string): ImageRecord {
  try {
    const v = JSON.parse(readFileSync(imageFile(p, kind, name), 'utf8')) as Partial<ImageRecord>;
    return { builds: Array.isArray(v.builds) ? v.builds : [], uploads: v.uploads && typeof v.uploads === 'object' ? v.uploads : {} };
  } catch {
    return { builds: [], uploads: {} };
  }
}

function save(p: BuildPaths, kind: ImageKind, name: string, rec: ImageRecord): void {
  const file = imageFile(p, kind, name);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeAtomically(file, `${JSON.stringify(rec, null, 1)}\n`);
}

/** Records a build, durably, after its signed outputs were stored. */
export function recordImageBuild(p: BuildPaths, kind: ImageKind, name: string, b: ImageBuild): void {
  const rec = loadImages(p, kind, name);
  rec.builds = [...rec.builds, b].slice(-KEEP);
  save(p, kind, name, rec);
}

/** Records that `id` is in `repository`, durably, after its upload. */
export function recordImageUpload(p: BuildPaths, kind: ImageKind, name: string, repository: 'templates-itl' | 'templates-community', id: string): void {
  const rec = loadImages(p, kind, name);
  rec.uploads[repository] = [...new Set([...(rec.uploads[repository] ?? []), id])];
  save(p, kind, name, rec);
}
