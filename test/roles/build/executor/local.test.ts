import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import { recipeEnv } from '../../../../src/roles/build/executor/env.js';
import type { ExecSpec } from '../../../../src/roles/build/executor/executor.js';
import { QbuildError } from '../../../../src/errors.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';

const tmp = tempDirs('qbuild-exec-test-');
const executor = new LocalExecutor();

/** A spec running `script` with sh in a fresh dir, collecting its output. */
function shSpec(script: string, over: Partial<ExecSpec> = {}): { spec: ExecSpec; output: () => string; dir: string } {
  const dir = tmp();
  const chunks: Buffer[] = [];
  const spec: ExecSpec = {
    argv: ['sh', '-c', script],
    cwd: dir,
    env: recipeEnv({ home: dir, tmp: dir }),
    timeoutMs: 30_000,
    outputCapBytes: 1 << 30,
    onOutput: (c) => { chunks.push(Buffer.from(c)); },
    ...over,
  };
  return { spec, dir, output: () => Buffer.concat(chunks).toString() };
}

/** True once `pid` is no longer a live process (gone, or a zombie nobody reaped yet). */
function dead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

const pidIn = (dir: string) => Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));

describe('LocalExecutor', () => {
  it('merges stdout and stderr in the order they were written and returns the exit code', async () => {
    const { spec, output } = shSpec('for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 3');
    const r = await executor.run(spec);
    expect(r).toEqual({ kind: 'exited', code: 3, outputBytes: output().length });
    expect(output()).toBe('out1\nerr1\nout2\nerr2\nout3\nerr3\n');
  });

  it('passes exactly the given environment and nothing of its own', async () => {
    const dir = tmp();
    const chunks: Buffer[] = [];
    const env = recipeEnv({ home: join(dir, 'home'), tmp: join(dir, 'tmp') }, { DIST: 'vm-fc42' });
    const r = await executor.run({
      argv: ['env'], cwd: dir, env, timeoutMs: 30_000, outputCapBytes: 65536,
      onOutput: (c) => { chunks.push(c); },
    });
    expect(r.kind).toBe('exited');
    const lines = Buffer.concat(chunks).toString().trim().split('\n').sort();
    expect(lines).toEqual([`DIST=vm-fc42`, `HOME=${dir}/home`, 'LANG=C.UTF-8', `PATH=${env.PATH}`, `TMPDIR=${dir}/tmp`]);
    expect(process.env.HOME).toBeDefined(); // the daemon has a HOME of its own: it was not passed on
  });

  it('runs in its work dir', async () => {
    const { spec, dir, output } = shSpec('pwd');
    await executor.run(spec);
    expect(output()).toBe(`${dir}\n`);
  });

  it('kills the whole process group on timeout', async () => {
    const { spec, dir, output } = shSpec('sleep 1000 & echo $! > bg.pid; echo started; sleep 1000', { timeoutMs: 1500 });
    const t0 = Date.now();
    const r = await executor.run(spec);
    expect(r).toEqual({ kind: 'timeout', timeoutMs: 1500, outputBytes: 8 });
    expect(output()).toBe('started\n');
    expect(Date.now() - t0).toBeLessThan(20_000);
    await waitFor('the background child to die', () => dead(pidIn(dir)), 5000);
  });

  it('leaves no background child behind after a normal exit', async () => {
    // The background sleep also holds the output pipe open: without the group kill this run would hang.
    const { spec, dir } = shSpec('sleep 1000 & echo $! > bg.pid; exit 0');
    const r = await executor.run(spec);
    expect(r.kind).toBe('exited');
    await waitFor('the background child to die', () => dead(pidIn(dir)), 5000);
  });

  it('stops at the output cap, delivering exactly the cap', async () => {
    const { spec, output } = shSpec('yes qbuild', { outputCapBytes: 100_000 });
    const r = await executor.run(spec);
    expect(r).toEqual({ kind: 'output-cap', capBytes: 100_000, outputBytes: 100_000 });
    expect(output().length).toBe(100_000);
    expect(output().startsWith('qbuild\nqbuild\n')).toBe(true);
  });

  it('is killed when its signal aborts', async () => {
    const ac = new AbortController();
    const dir = tmp();
    const r = await executor.run({
      argv: ['sh', '-c', 'sleep 1000 & echo $! > bg.pid; echo ready; sleep 1000'],
      cwd: dir, env: recipeEnv({ home: dir, tmp: dir }), timeoutMs: 60_000, outputCapBytes: 4096,
      onOutput: (c) => { if (c.toString().includes('ready')) ac.abort(); },
      signal: ac.signal,
    });
    expect(r.kind).toBe('aborted');
    await waitFor('the background child to die', () => dead(pidIn(dir)), 5000);
  });

  it('pauses the child while onOutput is pending (backpressure)', async () => {
    const dir = tmp();
    let first = true;
    let doneWhilePending: boolean | undefined;
    let total = 0;
    const r = await executor.run({
      argv: ['sh', '-c', 'head -c 4000000 /dev/zero; touch done'],
      cwd: dir, env: recipeEnv({ home: dir, tmp: dir }), timeoutMs: 60_000, outputCapBytes: 1 << 30,
      onOutput: async (c) => {
        total += c.length;
        if (!first) return;
        first = false;
        await new Promise((res) => setTimeout(res, 700));
        // 4 MB cannot fit in a pipe: the child must still be blocked writing.
        doneWhilePending = existsSync(join(dir, 'done'));
      },
    });
    expect(doneWhilePending).toBe(false);
    expect(r).toEqual({ kind: 'exited', code: 0, outputBytes: 4_000_000 });
    expect(total).toBe(4_000_000);
    expect(existsSync(join(dir, 'done'))).toBe(true);
  });

  it('delivers every byte written before the exit, also when onOutput is slow to the end', async () => {
    const dir = tmp();
    let total = 0;
    const r = await executor.run({
      argv: ['sh', '-c', 'head -c 8000000 /dev/zero; echo end'],
      cwd: dir, env: recipeEnv({ home: dir, tmp: dir }), timeoutMs: 60_000, outputCapBytes: 1 << 30,
      onOutput: (c) => { total += c.length; return new Promise((res) => setTimeout(res, 1)); },
    });
    expect(r).toEqual({ kind: 'exited', code: 0, outputBytes: 8_000_004 });
    expect(total).toBe(8_000_004);
  });

  it('fails with a stage error when the program does not exist', async () => {
    const dir = tmp();
    const run = executor.run({
      argv: ['qbuild-no-such-program'], cwd: dir, env: recipeEnv({ home: dir, tmp: dir }),
      timeoutMs: 10_000, outputCapBytes: 100, onOutput: () => {},
    });
    await expect(run).rejects.toThrow(QbuildError);
    await expect(run).rejects.toMatchObject({ code: 'stage' });
  });

  it('fails the run, and kills it, when onOutput fails', async () => {
    const { spec, dir } = shSpec('echo $$ > bg.pid; echo hi; sleep 1000', {
      onOutput: () => Promise.reject(new QbuildError('io', 'log stream broke')),
    });
    await expect(executor.run(spec)).rejects.toThrow('log stream broke');
    await waitFor('the recipe to die', () => dead(pidIn(dir)), 5000);
  });

  it('refuses a spec with a bad environment name', async () => {
    const dir = tmp();
    await expect(executor.run({
      argv: ['true'], cwd: dir, env: { 'A=B': '1' }, timeoutMs: 1000, outputCapBytes: 1, onOutput: () => {},
    })).rejects.toMatchObject({ code: 'internal' });
  });
});
