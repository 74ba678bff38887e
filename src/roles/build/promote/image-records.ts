import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';
import type { BuildPaths } from '../state/paths.js';

export type ImageKind = 'template' | 'iso';

/** Upstream's template repositories (qubes-builderv2 plugins/template TEMPLATE_REPOSITORIES). */
export type TemplateRepository = 'templates-itl' | 'templates-itl-testing' | 'templates-community' | 'templates-community-testing';
/** Where Upload-template copies to; each has its `-testing` repository, where Build-template publishes. */
export type StableTemplateRepository = 'templates-itl' | 'templates-community';

/** One build of a template or ISO: its outputs' names and digests (an ISO's signed SHA256SUMS; a template's signed RPM). */
export interface ImageBuild { version: string; timestamp: string; at: string; job: string; files: { name: string; sha256: string }[] }

export interface ImageRecord {
  /** Oldest first; the newest KEEP. */
  builds: ImageBuild[];
  /** Template repository → `<version>-<timestamp>` → when it went live there (ISO time). */
  published: Partial<Record<TemplateRepository, Record<string, string>>>;
}

const KEEP = 50;

/** `build/images/<kind>-<name>.json` (the ISO's name is `iso`). */
function imageFile(p: BuildPaths, kind: ImageKind, name: string): string {
  return join(p.root, 'images', `${kind}-${name}.json`);
}

export function loadImages(p: BuildPaths, kind: ImageKind, name: string): ImageRecord {
  try {
    const v = JSON.parse(readFileSync(imageFile(p, kind, name), 'utf8')) as Partial<ImageRecord>;
    return { builds: Array.isArray(v.builds) ? v.builds : [], published: v.published && typeof v.published === 'object' ? v.published : {} };
  } catch {
    return { builds: [], published: {} };
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

/** Records, durably, that template `id` went live in `repository` at `at` (right after the swap that published it). */
export function recordTemplatePublished(p: BuildPaths, name: string, repository: TemplateRepository, id: string, at: string): void {
  const rec = loadImages(p, 'template', name);
  rec.published[repository] = { ...rec.published[repository], [id]: at };
  save(p, 'template', name, rec);
}
