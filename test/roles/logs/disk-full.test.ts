import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, fillDisk, mountTmpfs, unmount } from '../../helpers/disk.js';
import { waitFor } from '../../helpers/wait.js';
import { openLogPath, readText, spoolNames, startLogsSim, type LogsSim } from './logs-sim.js';

/**
 * The logs VM's whole state (store, git repository, spool, keys) on an 8 MiB tmpfs, as a
 * small disk that fills up. Needs root (mount): skipped, and says so, without it.
 */
let sim: LogsSim;
let mountpoint = '';
beforeAll(async () => {
  if (!canMount) return;
  sim = await startLogsSim({}, (formula) => {
    mountpoint = join(formula, 'qubes', 'logs', 'state');
    mountTmpfs(mountpoint, '8m');
  });
}, 60_000);
afterAll(async () => {
  // Lazy: the daemon still has files open there until down() stops it.
  if (mountpoint) unmount(mountpoint);
  await sim?.down();
});

const count = (text: string, re: RegExp): number => (text.match(re) ?? []).length;

describe.skipIf(!canMount)('BuildLog on a full disk (finding H; needs root to mount a tmpfs)', () => {
  it('stops with one line, waits quietly, and closes the log with the disk-full reason once space returns', async () => {
    await waitFor('the daemon', () => readText(join(sim.stateDir('logs'), 'http.addr')));
    const before = spoolNames(sim);
    const child = sim.spawnCall('build-fedora', 'dom0', 'qubesbuilder.BuildLog');
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    child.stdin.write('before the disk filled\n');
    const path = await openLogPath(sim, before);
    const abs = join(sim.store, path);
    await waitFor('the first line', () => readText(abs).includes('before the disk filled'));
    const filler = fillDisk(sim.stateDir('logs'));
    const block = `${'y'.repeat(199)}\n`.repeat(500);
    for (let i = 0; i < 20 && child.exitCode === null; i++) {
      child.stdin.write(block);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await exit).toBe(1);
    expect(Buffer.concat(err).toString()).toBe(
      `qbuild: rpc qubesbuilder.BuildLog: ${path}: disk full (ENOSPC) while storing the log; the logs VM closes it once it can write again\n`);

    // While the disk stays full the daemon retries every second, and says so once.
    const log = join(sim.qubeDir('logs'), 'daemons.log');
    await new Promise((r) => setTimeout(r, 3500));
    const waiting = readText(log);
    expect(count(waiting, new RegExp(`closing abandoned log ${path} `, 'g'))).toBe(1);
    expect(count(waiting, new RegExp(`cannot publish ${path} yet`, 'g'))).toBeLessThanOrEqual(2);
    expect(sim.published().find((p) => p.path === path)).toBeUndefined();

    unlinkSync(filler);
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 30_000);
    expect(done.complete).toBe(false);
    const text = readText(abs);
    expect(text).toContain('build-fedora: before the disk filled\n');
    expect(text).toMatch(/ \+0000 > incomplete: the logs service stopped before the stream ended: disk full \(ENOSPC\) while storing the log\n\S+ \S+ \+0000 > closing log\n$/);
    expect(count(readText(log), new RegExp(`closing abandoned log ${path} `, 'g'))).toBe(1);

    // Space is back: the next log is stored and published as usual.
    const next = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'after\nqbuild-log-end\n' });
    expect(next.code, next.stderr).toBe(0);
    const nextPath = next.stdout.toString().trim();
    expect((await waitFor('the next log', () => sim.published().find((p) => p.path === nextPath), 30_000)).complete).toBe(true);
  }, 90_000);
});
