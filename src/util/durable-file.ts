import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes a directory's entries (a create or rename) durable. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` so that a crash leaves the old or the new content, never half: write to
 * `tmp` (in the same directory, with `mode` even if a stale `tmp` was left behind), fsync it,
 * rename it over `path`, fsync the directory.
 */
export function writeAtomically(path: string, data: string | Uint8Array, mode = 0o600, tmp = `${path}.tmp`): void {
  const fd = openSync(tmp, 'w', mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dirname(path));
}
