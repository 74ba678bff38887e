import { existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { remember, seenBefore, seenDir } from '../../../../src/roles/build/commands/replay-store.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { canMount, fillDisk, mountTmpfs, unmount } from '../../../helpers/disk.js';
import { tempDirs } from '../../../helpers/tmp.js';

/** The replay store on a small tmpfs that fills up (needs root to mount; skipped without). */
const tmp = tempDirs('qb-replay-');
const mounted: string[] = [];
afterEach(() => { for (const m of mounted.splice(0)) unmount(m); });

describe.skipIf(!canMount)('replay store on a full disk (needs root to mount a tmpfs)', () => {
  it('a signature that could not be recorded is not remembered: the retry sys-net makes once space returns is accepted', () => {
    const state = join(tmp(), 'state');
    mountTmpfs(state, '256k');
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
