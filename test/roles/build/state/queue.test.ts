import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../../helpers/tmp.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { enqueue, release, requeue, running, take, waiting } from '../../../../src/roles/build/state/queue.js';
import { loadJob, saveJob } from '../../../../src/roles/build/state/job-record.js';
import { recoverInterrupted, MAX_ATTEMPTS } from '../../../../src/roles/build/daemon/recover.js';
import { repoRoot } from '../../../helpers/binary.js';

const tmp = tempDirs('qbuild-queue-');

describe('build queue', () => {
  it('queues durably, one waiting job per component: a second trigger joins it', () => {
    const p = buildPaths(tmp());
    const a = enqueue(p, 'core-qrexec', 'sys-net');
    const b = enqueue(p, 'core-qrexec', 'sys-net');
    const c = enqueue(p, 'linux-utils', 'local');
    expect(a.coalesced).toBe(false);
    expect(b).toEqual({ id: a.id, coalesced: true });
    expect(c.coalesced).toBe(false);
    expect(waiting(p).map((w) => w.component)).toEqual(['core-qrexec', 'linux-utils']);
    expect(loadJob(p, a.id)).toMatchObject({ component: 'core-qrexec', from: 'sys-net', state: 'queued', attempt: 1, stages: [] });
    expect(readdirSync(p.queue).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a trigger while a job runs queues the next run; take refuses a second running job', () => {
    const p = buildPaths(tmp());
    const a = enqueue(p, 'x', 'sys-net');
    expect(take(p, 'x')).toBe(true);
    expect(running(p)).toEqual([{ component: 'x', id: a.id }]);
    const b = enqueue(p, 'x', 'sys-net');
    expect(b.coalesced).toBe(false);
    expect(take(p, 'x')).toBe(false);
    release(p, 'x');
    expect(take(p, 'x')).toBe(true);
    expect(running(p)).toEqual([{ component: 'x', id: b.id }]);
  });

  it('concurrent enqueues from separate processes make exactly one waiting job', async () => {
    const state = tmp();
    const script = join(state, 'enq.mjs');
    // Real processes racing: each child bundles queue.ts with esbuild and imports the result
    // (vitest's TypeScript loader does not reach child processes).
    writeFileSync(script, `
      import { build } from ${JSON.stringify(join(repoRoot, 'node_modules/esbuild/lib/main.js'))};
      const r = await build({ entryPoints: [${JSON.stringify(join(repoRoot, 'src/roles/build/state/queue.ts'))}], bundle: true, platform: 'node', format: 'esm', write: false });
      const url = 'data:text/javascript;base64,' + Buffer.from(r.outputFiles[0].text).toString('base64');
      const { enqueue } = await import(url);
      const p = { queue: process.argv[2] + '/build/queue', running: process.argv[2] + '/build/running', jobs: process.argv[2] + '/build/jobs', job: (id) => process.argv[2] + '/build/jobs/' + id + '.json' };
      process.stdout.write(JSON.stringify(enqueue(p, 'race', 'p' + process.pid)));
    `);
    const one = () => new Promise<{ id: string; coalesced: boolean }>((resolve, reject) => {
      const c = spawn(process.execPath, [script, state], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`exit ${code}`))));
    });
    const results = await Promise.all(Array.from({ length: 6 }, one));
    const ids = new Set(results.map((r) => r.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => !r.coalesced)).toHaveLength(1);
    const p = buildPaths(state);
    expect(waiting(p)).toEqual([{ component: 'race', id: [...ids][0] }]);
    expect(readdirSync(p.jobs).filter((n) => n.endsWith('.json'))).toEqual([`${[...ids][0]}.json`]);
  }, 60_000);
});

describe('recovery of interrupted jobs', () => {
  it('puts an interrupted job back in front, marks its open stage interrupted, counts attempts', () => {
    const p = buildPaths(tmp());
    const a = enqueue(p, 'x', 'sys-net');
    take(p, 'x');
    const job = loadJob(p, a.id);
    job.state = 'running';
    job.stages.push({ name: 'build-vm-fc42', status: 'running', startedAt: new Date().toISOString(), localLog: '/x' });
    saveJob(p, job);
    const said: string[] = [];
    recoverInterrupted(p, (l) => said.push(l));
    const after = loadJob(p, a.id);
    expect(after).toMatchObject({ state: 'queued', attempt: 2 });
    expect(after.stages[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/interrupted/) });
    expect(waiting(p)).toEqual([{ component: 'x', id: a.id }]);
    expect(running(p)).toEqual([]);
    expect(said.join('\n')).toMatch(/queued again \(attempt 2\)/);
  });

  it(`gives up after ${MAX_ATTEMPTS} attempts`, () => {
    const p = buildPaths(tmp());
    const a = enqueue(p, 'x', 'sys-net');
    for (let i = 1; i < MAX_ATTEMPTS; i++) {
      take(p, 'x');
      recoverInterrupted(p, () => {});
    }
    take(p, 'x');
    recoverInterrupted(p, () => {});
    expect(loadJob(p, a.id)).toMatchObject({ state: 'failed', reason: expect.stringMatching(/interrupted 3 times/) });
    expect(waiting(p)).toEqual([]);
    expect(running(p)).toEqual([]);
  });

  it('lets a newer waiting job run instead of the interrupted one', () => {
    const p = buildPaths(tmp());
    const a = enqueue(p, 'x', 'sys-net');
    take(p, 'x');
    const b = enqueue(p, 'x', 'sys-net');
    expect(requeue(p, 'x')).toBe(false);
    expect(waiting(p)).toEqual([{ component: 'x', id: b.id }]);
    expect(a.id).not.toBe(b.id);
  });
});

describe('pruning the build VM\'s own log copies', () => {
  it('keeps the newest jobs\' copies and every active job\'s, removes the rest, keeps all records', async () => {
    const { mkdirSync, writeFileSync, existsSync } = await import('node:fs');
    const { pruneLocalLogs } = await import('../../../../src/roles/build/state/prune.js');
    const p = buildPaths(tmp());
    const ids = Array.from({ length: 6 }, (_, i) => `20261202T00000${i}000Z-x-0000000${i}`);
    for (const id of ids) {
      mkdirSync(join(p.jobs, id), { recursive: true });
      writeFileSync(join(p.jobs, id, 'fetch.log'), 'x');
      writeFileSync(p.job(id), '{}');
    }
    expect(pruneLocalLogs(p, (id) => id === ids[0], 3)).toBe(2);
    expect(ids.map((id) => existsSync(join(p.jobs, id)))).toEqual([true, false, false, true, true, true]);
    expect(ids.every((id) => existsSync(p.job(id)))).toBe(true);
  });
});
