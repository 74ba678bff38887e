import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';
import type { Dist } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import type { AnnouncedRepository } from './events.js';

/** Where upstream's state files live in the build qube's state: `build/announce/`. */
export function announceDir(p: BuildPaths): string {
  return join(p.root, 'announce');
}

export type UploadRepository = 'current-testing' | 'current' | 'security-testing';

/**
 * Upstream's state file name: `<release>-<component>-<package set>-<dist>-<repository>`
 * (`r4.3-core-admin-vm-fc42-current-testing`); every part is a checked name without `/`.
 */
export function announceStateName(release: string, component: string, dist: Dist, repository: UploadRepository): string {
  return `${release}-${component}-${dist.set}-${dist.dist}-${repository}`;
}

const COMMIT_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The commit last uploaded to that repository, or undefined: no file (never uploaded since
 * reporting was on), or a file that holds no commit id (it is then treated as absent, and
 * initialised again, rather than fed to `git log`).
 */
export function readAnnounced(p: BuildPaths, name: string): string | undefined {
  try {
    const text = readFileSync(join(announceDir(p), name), 'utf8').trim();
    return COMMIT_RE.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** Records the commit now in that repository: temp + fsync + rename + directory fsync, so a crash leaves the old or the new one. */
export function writeAnnounced(p: BuildPaths, name: string, commit: string): void {
  mkdirSync(announceDir(p), { recursive: true, mode: 0o700 });
  writeAtomically(join(announceDir(p), name), `${commit}\n`);
}

/**
 * What Upload-component to current will announce, worked out when the version was uploaded
 * to current-testing (the component's git directory is gone by the promotion): the issues
 * referenced in `previous..commit`, `previous` being current's commit at that time.
 */
export interface PendingAnnouncement {
  previous: string;
  commit: string;
  gitUrl: string;
  issues: number[];
}

function pendingFile(p: BuildPaths, name: string): string {
  return join(announceDir(p), 'pending', `${name}.json`);
}

export function writePending(p: BuildPaths, name: string, v: PendingAnnouncement): void {
  mkdirSync(join(announceDir(p), 'pending'), { recursive: true, mode: 0o700 });
  writeAtomically(pendingFile(p, name), `${JSON.stringify(v)}\n`);
}

/** The pending announcement for that state file, or undefined (none, or not ours: unreadable or malformed). */
export function readPending(p: BuildPaths, name: string): PendingAnnouncement | undefined {
  try {
    const v = JSON.parse(readFileSync(pendingFile(p, name), 'utf8')) as Record<string, unknown>;
    const ok = typeof v.previous === 'string' && COMMIT_RE.test(v.previous) && typeof v.commit === 'string' && COMMIT_RE.test(v.commit)
      && typeof v.gitUrl === 'string' && Array.isArray(v.issues) && v.issues.every((n) => Number.isSafeInteger(n) && (n as number) > 0);
    return ok ? (v as unknown as PendingAnnouncement) : undefined;
  } catch {
    return undefined;
  }
}

/** The repositories whose uploads are announced (upstream: current-testing and stable). */
export function isAnnounced(repository: UploadRepository): repository is AnnouncedRepository {
  return repository === 'current-testing' || repository === 'current';
}

/** No announcement waits for that state file (current had no commit when the version was built). */
export function removePending(p: BuildPaths, name: string): void {
  rmSync(pendingFile(p, name), { force: true });
}
