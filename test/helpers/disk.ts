import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Mounting a small tmpfs needs root: tests that fill a disk are skipped, and say so, without it. */
export const canMount = process.getuid?.() === 0;

/** Mounts a tmpfs of `size` (e.g. `256k`, `8m`, mode 0700) at `dir`, made if missing: a small disk that fills up. */
export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
}

/** Lazily: a daemon may still have files open there. */
export function unmount(dir: string): void {
  execFileSync('umount', ['-l', dir]);
}

/** Fills the file system holding `dir` to the last byte; returns the filler to delete. */
export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [1 << 20, 4096, 1]) {
      const b = Buffer.alloc(size, 'f');
      try {
        for (;;) writeSync(fd, b);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}
