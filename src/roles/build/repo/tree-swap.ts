import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync,
  rmSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { syncDir } from '../../../util/durable-file.js';

/**
 * Atomic publication of a repository tree (docs/build-repository.md). The published path
 * (e.g. `…/current-testing/vm/fc42`) is a symlink to one complete tree under a hidden
 * versions directory next to it (`…/current-testing/vm/.versions/fc42/<id>`). A new tree is
 * staged beside the live one — hard links to the live tree's files, new files added,
 * metadata regenerated — and goes live by rename(2) of a new symlink over the old one: a
 * reader (dnf, apt, rsync) sees the old tree or the new one, never a mix, and a failure
 * before the rename leaves the live tree exactly as it was.
 *
 * Hard links are safe because nothing in a staged tree is ever written in place: a file the
 * stage changes is removed first and written anew (replaceFile), so the live tree's inode
 * is never touched.
 */
export interface SwapUnit {
  /** The published path: a symlink (or nothing yet). */
  link: string;
  /** Where the trees live: `<dirname(link)>/.versions/<basename(link)>`. */
  versions: string;
}

export function swapUnit(link: string): SwapUnit {
  return { link, versions: join(dirname(link), '.versions', basename(link)) };
}

export interface StagedTree {
  unit: SwapUnit;
  /** The tree being staged (`<id>.staging` until swapped in). */
  dir: string;
  id: string;
  /** The link's target when staging began (undefined: nothing published yet). */
  base: string | undefined;
}

/**
 * The link's target text, or undefined when nothing is published. Rule: the published path
 * is either absent or a symlink into its versions directory; a real directory or any other
 * file there is refused (it would not be replaced atomically), as is a link elsewhere.
 */
export function currentTarget(unit: SwapUnit): string | undefined {
  let st;
  try { st = lstatSync(unit.link); } catch { return undefined; }
  if (!st.isSymbolicLink()) throw new QbuildError('stage', `${unit.link} is not a symlink to a published tree: move it away first`);
  const target = readlinkSync(unit.link);
  const expected = relative(dirname(unit.link), unit.versions);
  if (dirname(target) !== expected || !/^[0-9A-Za-z-]+$/.test(basename(target))) {
    throw new QbuildError('stage', `${unit.link} points at ${target}, not into ${expected}`);
  }
  return target;
}

let lastMs = 0;
/**
 * A new version id that sorts in creation order: UTC time to the millisecond (never repeating
 * within this process, so trees made in one second still sort), plus randomness against
 * another process's ids.
 */
function newId(): string {
  lastMs = Math.max(Date.now(), lastMs + 1);
  const t = new Date(lastMs).toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

/** A staged tree this old is a crashed stage's leftover (a live one is swapped or discarded within minutes). */
export const STALE_STAGING_MS = 60 * 60 * 1000;

/**
 * Removes what no reader needs: staged trees older than STALE_STAGING_MS (a crashed stage;
 * a younger one may belong to a stage still waiting for its ticket), and every complete tree
 * but the live one and the newest other (an upload of the previous tree may still be reading it).
 */
function collect(unit: SwapUnit, live: string | undefined, now = Date.now()): void {
  const liveName = live && basename(live);
  const names = readdirSync(unit.versions).sort();
  const done = names.filter((n) => !n.endsWith('.staging') && n !== liveName);
  const keep = new Set([liveName, done[done.length - 1]]);
  for (const n of names) {
    const path = join(unit.versions, n);
    if (keep.has(n)) continue;
    if (n.endsWith('.staging') && now - lstatSync(path).mtimeMs < STALE_STAGING_MS) continue;
    rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Starts a new tree: a hard-linked copy of the live one (if any), leaving out the paths
 * `skip` names (relative, `/`-separated: the metadata the stage regenerates).
 */
export function stageTree(unit: SwapUnit, skip: (rel: string) => boolean = () => false): StagedTree {
  const base = currentTarget(unit);
  mkdirSync(unit.versions, { recursive: true });
  collect(unit, base);
  const id = newId();
  const dir = join(unit.versions, `${id}.staging`);
  mkdirSync(dir);
  try {
    if (base) copyTree(join(dirname(unit.link), base), dir, '', skip);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new QbuildError('stage', `staging a copy of ${unit.link}: ${(e as Error).message}`);
  }
  return { unit, dir, id, base };
}

function copyTree(from: string, to: string, rel: string, skip: (rel: string) => boolean): void {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (skip(r)) continue;
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) { mkdirSync(dst); copyTree(src, dst, r, skip); }
    else if (e.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (e.isFile()) linkOrCopy(src, dst);
  }
}

/** A hard link where the file system allows one (same device), else a copy. */
export function linkOrCopy(src: string, dst: string): void {
  try {
    linkSync(src, dst);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw e;
    copyFileSync(src, dst);
  }
}

/** Writes `data` as a new file at `path` (never through an existing inode: it may be shared with the live tree). */
export function replaceFile(path: string, data: string | Buffer): void {
  if (existsSync(path)) unlinkSync(path);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data, { flag: 'wx', mode: 0o644 });
}

/**
 * Makes the staged tree live. Rules: the link must still point where it did when staging
 * began (another publish in between would be lost: refused, nothing changes); the new tree
 * reaches the disk before the link that names it (syncfs), and the swap itself is one
 * rename(2) of a fresh symlink over the old one, then the directory is synced.
 */
export function swapIn(staged: StagedTree): string {
  const { unit } = staged;
  if (currentTarget(unit) !== staged.base) {
    throw new QbuildError('stage', `${unit.link} changed while this tree was staged: not replaced`);
  }
  const final = join(unit.versions, staged.id);
  const s = spawnSync('sync', ['-f', staged.dir], { stdio: 'ignore' });
  if (s.status !== 0) throw new QbuildError('stage', `sync -f ${staged.dir} failed`);
  renameSync(staged.dir, final);
  syncDir(unit.versions);
  const target = relative(dirname(unit.link), final);
  const tmp = `${unit.link}.${staged.id}.new`;
  symlinkSync(target, tmp);
  try {
    renameSync(tmp, unit.link);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new QbuildError('stage', `swapping ${unit.link}: ${(e as Error).message}`);
  }
  syncDir(dirname(unit.link));
  return final;
}

/** Drops a staged tree that will not go live (any failure before swapIn). */
export function discard(staged: StagedTree): void {
  rmSync(staged.dir, { recursive: true, force: true });
}
