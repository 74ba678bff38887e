import { lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { Artifact, ArtifactKind } from '../pipeline/types.js';

/** The kind of a recipe output, from its file name as rpm and dpkg name their files. */
export function artifactKind(name: string): ArtifactKind {
  if (name.endsWith('.src.rpm')) return 'srpm';
  if (name.endsWith('.rpm')) return 'rpm';
  if (/\.(deb|udeb|ddeb)$/.test(name)) return 'deb';
  if (name.endsWith('.dsc')) return 'dsc';
  if (name.endsWith('.changes')) return 'changes';
  if (name.endsWith('.buildinfo')) return 'buildinfo';
  if (/\.(tar(\.(gz|xz|bz2|lzma|zst))?|diff\.gz)$/.test(name)) return 'source';
  return 'other';
}

/** A label names an artifact in a manifest line: 1–255 printable ASCII characters, no spaces. */
const LABEL_RE = /^[\x21-\x7e]{1,255}$/;

/**
 * Every file a recipe left under `outDir`, depth first, sorted by path. Rules, since the
 * recipe is untrusted: only directories and regular files (a symlink could point the signing
 * stage at bytes the recipe did not build), and every path relative to `outDir` must be a
 * valid manifest label (a name with a space or newline could forge a manifest line).
 */
export function collectArtifacts(outDir: string): Artifact[] {
  const out: Artifact[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) { walk(path); continue; }
      const rel = relative(outDir, path);
      if (!st.isFile()) throw new QbuildError('stage', `recipe output ${JSON.stringify(rel)} is not a regular file`);
      if (!LABEL_RE.test(rel)) throw new QbuildError('stage', `recipe output ${JSON.stringify(rel.slice(0, 80))} has a name that cannot be a manifest label (printable ASCII, no spaces)`);
      out.push({ path, kind: artifactKind(name) });
    }
  };
  walk(outDir);
  return out;
}

/** The label an artifact has in manifest lines: its path relative to the output directory. */
export function artifactLabel(outDir: string, a: Artifact): string {
  return relative(outDir, a.path);
}
