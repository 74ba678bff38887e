import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { remember, seenBefore, seenDir } from '../../../../src/roles/build/commands/replay-store.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { tempDirs } from '../../../helpers/tmp.js';

/** The replay store on a small tmpfs that fills up (needs root to mount; skipped without). */
const root = process.getuid?.() === 0;
const tmp = tempDirs('qb-replay-');
const mounted: string[] = [];
afterEach(() => { for (const m of mounted.splice(0)) execFileSync('umount', ['-l', m]); });

/** Fills the file system holding `dir` to the last byte; returns the filler to delete. */
function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (const size of [1 << 16, 4096, 1]) {
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

describe.skipIf(!root)('replay store on a full disk (needs root to mount a tmpfs)', () => {
  it('a signature that could not be recorded is not remembered: the retry sys-net makes once space returns is accepted', () => {
    const state = join(tmp(), 'state');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', state]);
    mounted.push(state);
    const paths = buildPaths(state);
    const digest = 'a'.repeat(64);
    mkdirSync(seenDir(paths), { recursive: true });
    const filler = fillDisk(state);
    expect(() => remember(paths, digest, { line: 'x' })).toThrow(/cannot record the command in the replay store .*ENOSPC/);
    expect(seenBefore(paths, digest)).toBe(false);
    unlinkSync(filler);
    expect(remember(paths, digest, { line: 'x' })).toBe(true);
    expect(seenBefore(paths, digest)).toBe(true);
    expect(existsSync(join(seenDir(paths), digest))).toBe(true);
  });
});
