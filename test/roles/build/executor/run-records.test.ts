import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import { RunRecords } from '../../../../src/roles/build/executor/run-records.js';
import { recipeEnv } from '../../../../src/roles/build/executor/env.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';

const tmp = tempDirs('qbuild-run-records-');
const started: number[] = [];
afterEach(() => { for (const pid of started.splice(0)) try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } });

/** A recipe-like process group (own session, a background child) as a crashed daemon leaves it. */
function orphanGroup(dir: string): number {
  const child = spawn('sh', ['-c', 'sleep 1000 & echo $! > bg.pid; sleep 1000'], { cwd: dir, detached: true, stdio: 'ignore' });
  child.unref();
  started.push(child.pid!);
  return child.pid!;
}

const alive = (pid: number) => {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

describe('leftover runs', () => {
  it('a restarted daemon kills the whole group a crashed one left running, and forgets the record', async () => {
    const dir = tmp();
    const records = join(dir, 'records');
    const pgid = orphanGroup(dir);
    const bg = await waitFor('the background child', () => { try { return Number(readFileSync(join(dir, 'bg.pid'), 'utf8')); } catch { return 0; } });
    new RunRecords(records).add(pgid);

    expect(new LocalExecutor({ recordsDir: records }).reapLeftovers()).toBe(1);
    await waitFor('the group to die', () => !alive(pgid) && !alive(bg), 5000);
    expect(readdirSync(records)).toEqual([]);
  });

  it('does not touch a process whose record is from another boot or whose start time differs', () => {
    const dir = tmp();
    const records = join(dir, 'records');
    const a = orphanGroup(dir);
    const b = orphanGroup(dir);
    const r = new RunRecords(records);
    r.add(a);
    r.add(b);
    const [, start] = readFileSync(join(records, String(a)), 'utf8').trim().split(' ');
    writeFileSync(join(records, String(a)), `00000000-0000-0000-0000-000000000000 ${start}\n`);
    const [boot] = readFileSync(join(records, String(b)), 'utf8').trim().split(' ');
    writeFileSync(join(records, String(b)), `${boot} 1\n`);

    expect(r.reap()).toBe(0);
    expect(alive(a) && alive(b)).toBe(true);
    expect(readdirSync(records)).toEqual([]);
  });

  it('records a run only while it runs', async () => {
    const dir = tmp();
    const records = join(dir, 'records');
    let seen: string[] = [];
    const ex = new LocalExecutor({ recordsDir: records });
    const r = await ex.run({
      argv: ['sh', '-c', 'echo hi'], cwd: join(dir, 'w'), env: recipeEnv({ home: dir, tmp: dir }),
      timeoutMs: 10_000, outputCapBytes: 100, onOutput: () => { seen = readdirSync(records); },
    });
    expect(r.kind).toBe('exited');
    expect(seen).toHaveLength(1);
    expect(readdirSync(records)).toEqual([]);
  });
});
