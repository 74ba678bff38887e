import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { syncDir } from '../../../util/durable-file.js';
import type { BuildPaths } from '../state/paths.js';

/**
 * Every accepted command's signature, remembered forever (upstream has no such store: a
 * signed Upload-component there can be replayed while its commit matches). One file per
 * signature, named by the command's identity (canonical.ts: SHA-256 of the signature's hashed
 * part and the line), under `build/commands/seen/`.
 */
export function seenDir(p: BuildPaths): string {
  return join(p.root, 'commands', 'seen');
}

const fileOf = (p: BuildPaths, digest: string): string => {
  if (!/^[0-9a-f]{64}$/.test(digest)) throw new QbuildError('internal', 'replay store: a digest must be 64 lowercase hex');
  return join(seenDir(p), digest);
};

/** True if a signature with this digest was accepted before. */
export function seenBefore(p: BuildPaths, digest: string): boolean {
  return existsSync(fileOf(p, digest));
}

/**
 * Remembers the signature, durably, before its command is queued. Rule: the file is created
 * exclusively (O_EXCL), written, fsynced, and its directory fsynced; false when it already
 * existed (the same command delivered twice at once: only one caller wins). A crash after
 * the create leaves a file (maybe empty) that still refuses the replay: safe side. A write or
 * fsync that fails (a full disk) removes the file again before the error: the command was not
 * queued, so sys-net's retry must find it unseen, not refuse it as a replay.
 */
export function remember(p: BuildPaths, digest: string, record: Record<string, unknown>): boolean {
  const path = fileOf(p, digest);
  try {
    mkdirSync(seenDir(p), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      writeSync(fd, `${JSON.stringify(record)}\n`);
      fsyncSync(fd);
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    } finally {
      closeSync(fd);
    }
    syncDir(seenDir(p));
    return true;
  } catch (e) {
    throw new QbuildError('io', `cannot record the command in the replay store ${seenDir(p)}: ${(e as Error).message}`);
  }
}

/**
 * Forgets a signature remembered for a command that then could not be queued (a full disk):
 * the command never ran, so sys-net's retry must be taken, not refused as a replay. Removed
 * and the directory fsynced; a failure here is reported with the queueing error's.
 */
export function forget(p: BuildPaths, digest: string): void {
  try {
    rmSync(fileOf(p, digest), { force: true });
    syncDir(seenDir(p));
  } catch (e) {
    throw new QbuildError('io', `cannot remove the command from the replay store ${seenDir(p)}: ${(e as Error).message}`);
  }
}
