import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/roles/sysnet/journal.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qbuild-journal-');
let dir: string;
let path: string;
beforeEach(() => {
  dir = tmp();
  path = join(dir, 'queue.jsonl');
});

// Complete lines only: the next group may be being appended.
const onDisk = (): unknown[] => readFileSync(path, 'utf8').split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l) as unknown);

describe('Journal group commit', () => {
  it('writes the appends of one turn in one commit, and resolves each only once it is on disk', async () => {
    const { journal } = await Journal.open(path);
    const seenAtResolve: number[] = [];
    const all = Array.from({ length: 200 }, (_, n) => journal.append({ n }).then(() => {
      seenAtResolve.push(onDisk().length);
    }));
    await Promise.all(all);
    expect(journal.commits).toBe(1);
    expect(seenAtResolve.every((lines) => lines === 200)).toBe(true);
    expect(onDisk()).toEqual(Array.from({ length: 200 }, (_, n) => ({ n })));
    await journal.close();
  });

  it('gathers appends made while a write is in flight into the next commit', async () => {
    const { journal } = await Journal.open(path);
    let firstDone = false;
    const first = journal.append({ n: 0 }).then(() => { firstDone = true; });
    // The journal's batch starts at the end of this turn; once it has, the write is in flight.
    await new Promise((r) => setImmediate(r));
    expect(journal.commits).toBe(1);
    const rest: Promise<void>[] = [];
    for (let n = 1; n <= 100; n++) {
      rest.push(journal.append({ n }).then(() => {
        // A record is never acknowledged before the write that carries it, nor before the
        // records appended earlier.
        expect(firstDone).toBe(true);
        expect(onDisk().length).toBeGreaterThanOrEqual(n + 1);
      }));
      if (n % 10 === 0) await new Promise((r) => setImmediate(r)); // spread over several turns
    }
    await Promise.all([first, ...rest]);
    expect(journal.commits).toBeGreaterThanOrEqual(2);
    expect(journal.commits).toBeLessThan(101);
    expect(onDisk()).toEqual(Array.from({ length: 101 }, (_, n) => ({ n })));
    await journal.close();
  });

  it('applies a record\'s in-memory effect at the moment it is on disk, in append order', async () => {
    const { journal } = await Journal.open(path);
    const applied: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, n) => journal.append({ n }, () => applied.push(n))));
    expect(applied).toEqual(Array.from({ length: 20 }, (_, n) => n));
    await journal.close();
  });
});

describe('Journal replay after a crash', () => {
  it('drops a torn last line, keeps every complete record, and appends on a clean line', async () => {
    const { journal } = await Journal.open(path);
    await Promise.all([1, 2, 3].map((n) => journal.append({ t: 'job', n })));
    await journal.close();
    // A crash in the middle of the next batch's write: one whole record and part of another.
    appendFileSync(path, '{"t":"job","n":4}\n{"t":"job","n":5,"d":"half');
    const { journal: j2, records } = await Journal.open(path);
    expect(records).toEqual([1, 2, 3, 4].map((n) => ({ t: 'job', n })));
    expect(readFileSync(path, 'utf8').endsWith('{"t":"job","n":4}\n')).toBe(true);
    await j2.append({ t: 'job', n: 6 });
    await j2.close();
    const { journal: j3, records: again } = await Journal.open(path);
    expect(again).toEqual([1, 2, 3, 4, 6].map((n) => ({ t: 'job', n })));
    await j3.close();
  });

  it('drops a last record that lacks its newline even if it parses (it was never acknowledged)', async () => {
    writeFileSync(path, '{"n":1}\n{"n":2}');
    const { journal, records } = await Journal.open(path);
    expect(records).toEqual([{ n: 1 }]);
    await journal.close();
  });

  it('refuses to start on a damaged line that is not the last', async () => {
    writeFileSync(path, '{"n":1}\n{"n":2,"d\n{"n":3}\n');
    await expect(Journal.open(path)).rejects.toThrow(/line 2 is damaged/);
  });
});
