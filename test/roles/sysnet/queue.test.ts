import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/roles/sysnet/journal.js';
import { ForwardQueue } from '../../../src/roles/sysnet/queue.js';
import { tempDirs } from '../../helpers/tmp.js';

let dir: string;
const tmp = tempDirs('qbuild-queue-');
beforeEach(() => { dir = tmp(); });

const opts = { queueMax: 3, dedupeMemory: 100, buildVms: ['build-a', 'build-b'] };
const work = (component: string) => ({ kind: 'trigger' as const, component });

async function openQueue(o = opts): Promise<{ q: ForwardQueue; j: Journal }> {
  const { journal, records } = await Journal.open(join(dir, 'q.jsonl'));
  const q = new ForwardQueue(journal, o);
  q.load(records);
  return { q, j: journal };
}

describe('ForwardQueue', () => {
  it('journals a job before accepting it, and rebuilds pending work and GUIDs after a restart', async () => {
    const { q, j } = await openQueue();
    expect(await q.accept('g1', work('one'))).toEqual({ kind: 'accepted', id: 1 });
    expect(readFileSync(join(dir, 'q.jsonl'), 'utf8')).toContain('"d":"g1"');
    await q.end(q.nextFor('build-a')!, 'build-a', 'sent');
    await j.close();
    const { q: q2, j: j2 } = await openQueue();
    expect(q2.nextFor('build-a')).toBeUndefined();
    expect(q2.nextFor('build-b')?.work).toEqual(work('one'));
    expect(await q2.accept('g1', work('one'))).toEqual({ kind: 'duplicate' });
    expect(await q2.accept('g2', work('two'))).toEqual({ kind: 'accepted', id: 2 });
    await j2.close();
  });

  it('remembers GUIDs of finished jobs across restarts (bounded), and compacts', async () => {
    const { q, j } = await openQueue({ ...opts, dedupeMemory: 2 });
    for (const g of ['g1', 'g2', 'g3']) {
      await q.accept(g, work(g));
      const job = q.nextFor('build-a')!;
      await q.end(job, 'build-a', 'sent');
      await q.end(job, 'build-b', 'refused');
    }
    expect(q.depth).toBe(0);
    await q.compact();
    await j.close();
    const lines = readFileSync(join(dir, 'q.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ t: 'seen', d: 'g2' }, { t: 'seen', d: 'g3' }]);
    const { q: q2, j: j2 } = await openQueue();
    expect(await q2.accept('g3', work('x'))).toEqual({ kind: 'duplicate' });
    expect(await q2.accept('g1', work('x'))).toMatchObject({ kind: 'accepted' }); // forgotten: beyond dedupeMemory
    await j2.close();
  });

  it('refuses new work when queueMax jobs are pending', async () => {
    const { q, j } = await openQueue();
    for (const g of ['a', 'b', 'c']) expect((await q.accept(g, work(g))).kind).toBe('accepted');
    expect(await q.accept('d', work('d'))).toEqual({ kind: 'full' });
    await j.close();
  });

  it('drops a torn last line (never acknowledged) and refuses a damaged journal', async () => {
    const { q, j } = await openQueue();
    await q.accept('g1', work('one'));
    await j.close();
    appendFileSync(join(dir, 'q.jsonl'), '{"t":"job","id":2,"d":"g2"');
    const { q: q2, j: j2 } = await openQueue();
    expect(q2.pending().map((x) => x.delivery)).toEqual(['g1']);
    expect((await q2.accept('g2', work('two'))).kind).toBe('accepted');
    await j2.close();
    writeFileSync(join(dir, 'q.jsonl'), 'garbage\n{"t":"seen","d":"x"}\n');
    await expect(Journal.open(join(dir, 'q.jsonl'))).rejects.toThrow(/line 1 is damaged/);
  });

  it('commits concurrent accepts in one batch and keeps each GUID once', async () => {
    const { q, j } = await openQueue({ ...opts, queueMax: 100 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.accept(`g${i % 25}`, work(`c${i}`))));
    expect(results.filter((r) => r.kind === 'accepted')).toHaveLength(25);
    expect(results.filter((r) => r.kind === 'duplicate')).toHaveLength(25);
    await j.close();
    expect(readFileSync(join(dir, 'q.jsonl'), 'utf8').trim().split('\n')).toHaveLength(25);
  });

  it('drops VMs no longer configured from pending jobs on load', async () => {
    const { q, j } = await openQueue();
    await q.accept('g1', work('one'));
    await j.close();
    const { journal, records } = await Journal.open(join(dir, 'q.jsonl'));
    const q2 = new ForwardQueue(journal, { ...opts, buildVms: ['build-a'] });
    expect(q2.load(records)).toEqual({ dropped: ['build-b'] });
    expect(q2.pending()[0]!.vms).toEqual(['build-a']);
    await journal.close();
  });
});

describe('ForwardQueue load order', () => {
  it('forwards in job id order even when concurrent batches landed out of order', async () => {
    const w = (c: string) => ({ kind: 'trigger', component: c });
    writeFileSync(join(dir, 'q.jsonl'), [
      { t: 'job', id: 2, d: 'g2', at: 1, w: w('two'), vms: ['build-a'] },
      { t: 'job', id: 1, d: 'g1', at: 1, w: w('one'), vms: ['build-a'] },
    ].map((r) => `${JSON.stringify(r)}\n`).join(''));
    const { q, j } = await openQueue();
    expect(q.pending().map((x) => x.id)).toEqual([1, 2]);
    expect(q.nextFor('build-a')?.id).toBe(1);
    expect((await q.accept('g3', work('three'))).kind).toBe('accepted');
    expect(q.pending().map((x) => x.id)).toEqual([1, 2, 3]);
    await j.close();
  });
});

describe('ForwardQueue compaction while accepting', () => {
  it('loses no job accepted around a compaction, whatever the interleaving', async () => {
    const { q, j } = await openQueue({ ...opts, queueMax: 1000 });
    const accepted: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      accepted.push(q.accept(`g${i}`, work(`c${i}`)));
      if (i % 7 === 0) accepted.push(q.compact());
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(accepted);
    await j.close();
    const { q: q2, j: j2 } = await openQueue({ ...opts, queueMax: 1000 });
    expect(q2.pending().map((x) => x.delivery)).toEqual(Array.from({ length: 30 }, (_, i) => `g${i}`));
    await j2.close();
  });
});
