import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFromText } from '../../../src/protocol/buildlog/stored.js';
import { xorshift32 } from '../../helpers/random.js';
import { run } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';
import { openLogPath, readText, spoolNames, startLogsSim, type LogsSim } from './logs-sim.js';

const MAX_LOG = 8192;
let sim: LogsSim;
// Small caps, so the fuzzed streams below cross the line cut and the size cap often.
beforeAll(async () => { sim = await startLogsSim({ maxLineBytes: 120, maxLogBytes: MAX_LOG }); }, 60_000);
afterAll(async () => { await sim?.down(); });

const hex = (n: number): string => n.toString(16).padStart(64, '0');
const spoolRecord = (path: string): { pid: number } =>
  JSON.parse(readFileSync(join(sim.stateDir('logs'), 'spool', `${path.replace(/\//g, '+')}.open.json`), 'utf8'));

describe('BuildLog under faults (simulator, built binary)', () => {
  it('keeps a partial line when the service is SIGKILLed while the caller stalls (finding C)', async () => {
    const before = spoolNames(sim);
    const child = sim.spawnCall('build-fedora', 'dom0', 'qubesbuilder.BuildLog');
    child.stdin.write(`qbuild-sign sha256:${hex(1)} whole\nqbuild-sign sha256:${hex(2)} partial-with`);
    const path = await openLogPath(sim, before);
    const abs = join(sim.store, path);
    // On disk with no newline yet: the service holds nothing back.
    await waitFor('the partial line in the file', () => readText(abs).endsWith(`build-fedora: qbuild-sign sha256:${hex(2)} partial-with`));
    process.kill(spoolRecord(path).pid, 'SIGKILL');
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 30_000);
    child.kill('SIGKILL');
    expect(done.complete).toBe(false);
    const text = readText(abs);
    expect(text).toMatch(new RegExp(`build-fedora: qbuild-sign sha256:${hex(2)} partial-with\\n\\S+ \\S+ \\+0000 > cut: the line above had no newline when the logs service stopped\\n` +
      '\\S+ \\S+ \\+0000 > incomplete: the logs service stopped before the stream ended\\n\\S+ \\S+ \\+0000 > closing log\\n$'));
    // The torn manifest line grants nothing; the whole one does, as it would have live.
    expect((done as unknown as { digests: number }).digests).toBe(1);
  }, 60_000);

  it('refuses a sub-directory argument that names an existing log file: one line, exit 2 (finding G)', async () => {
    // A log whose name has no `.N` (a second log in the same second gets one; `.` maps to `_`).
    let name = '';
    for (let i = 0; i < 4 && !/^log_[\d_-]+$/.test(name); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1100));
      const first = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\nqbuild-log-end\n' });
      name = first.stdout.toString().trim().split('/').at(-1)!;
    }
    expect(name).toMatch(/^log_[\d_-]+$/);
    const r = await sim.call('build-fedora', 'dom0', `qubesbuilder.BuildLog+${name}`, { stdin: 'y\nqbuild-log-end\n' });
    expect(r.code).toBe(2);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toBe(`qbuild: rpc qubesbuilder.BuildLog: cannot store logs under build-fedora/${name}: ${name} is already a file in the log store\n`);
  }, 30_000);

  it('records a log whose end marker came past the size cap as capped and incomplete (finding I)', async () => {
    const lines = Array.from({ length: 150 }, (_, i) => `line ${i} of a log that outgrows its cap`).join('\n');
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `${lines}\nqbuild-sign sha256:${hex(3)} late\nqbuild-log-end\n` });
    expect(r.code, r.stderr).toBe(0);
    const path = r.stdout.toString().trim();
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 30_000);
    expect(done).toMatchObject({ complete: false, capped: true, digests: 0 });
    const text = readText(join(sim.store, path));
    expect(text).toMatch(/> size cap of 8192 bytes reached: further input is counted, not stored\n/);
    expect(text).toMatch(/> size cap: \d+ bytes in \d+ lines received but not stored\n\S+ \S+ \+0000 > incomplete: the size cap was reached before "qbuild-log-end"\n\S+ \S+ \+0000 > closing log\n$/);
    expect(text).not.toContain('build-fedora: qbuild-log-end');
  }, 30_000);

  it('ends every fuzzed stream with a stored, published log and exit 0, or one line of error; never "internal error" (seeded)', async () => {
    const rnd = xorshift32(2026);
    const pick = <T>(xs: T[]): T => xs[rnd(xs.length)]!;
    let existing = '';
    const outcomes = { stored: 0, refused: 0, killed: 0, granted: 0 };
    for (let round = 0; round < 24; round++) {
      const parts: Buffer[] = [];
      for (let i = rnd(12); i > 0; i--) {
        const kind = rnd(7);
        if (kind === 0) parts.push(Buffer.from(Array.from({ length: rnd(400) }, () => rnd(256))));
        else if (kind === 1) parts.push(Buffer.from(`qbuild-sign ${pick(['sha256', 'text-sha256', 'clearsign-sha256', 'md5'])}:${hex(rnd(1e6))} f${i}\n`));
        else if (kind === 2) parts.push(Buffer.from(`${'p'.repeat(120 * (1 + rnd(2)))}qbuild-sign sha256:${hex(i)} cut${i}\n`));
        else if (kind === 3) parts.push(Buffer.from('qbuild-log-end\n'));
        else if (kind === 4) parts.push(Buffer.from('x'.repeat(rnd(3000))));
        else parts.push(Buffer.from(`ordinary ${i}\n`));
      }
      if (rnd(2)) parts.push(Buffer.from('qbuild-log-end\n'));
      const input = Buffer.concat(parts);
      const arg = pick(['', '', '+stage', '+a.b', `+${existing || 'x'}`, '+-']);
      const kill = rnd(6) === 0;
      const child = sim.spawnCall('build-fedora', 'dom0', `qubesbuilder.BuildLog${arg}`);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const exit = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      for (let p = 0; p < input.length;) {
        const n = 1 + rnd(2000);
        child.stdin.write(input.subarray(p, p + n));
        p += n;
        if (rnd(4) === 0) await new Promise((r) => setTimeout(r, rnd(30)));
      }
      if (kill) {
        await new Promise((r) => setTimeout(r, 100));
        child.kill('SIGKILL');
        await exit;
        outcomes.killed++;
        continue;
      }
      child.stdin.end();
      const code = await exit;
      const stdout = Buffer.concat(out).toString('latin1');
      const stderr = Buffer.concat(err).toString('latin1');
      const what = `round ${round} (arg ${arg || 'none'}, ${input.length} bytes): exit ${code}, stderr ${JSON.stringify(stderr)}`;
      expect(stderr, what).not.toContain('internal error');
      if (code !== 0) {
        expect(stderr, what).toMatch(/^qbuild: [^\n]+\n$/);
        expect(stdout, what).toBe('');
        outcomes.refused++;
        continue;
      }
      expect(stderr, what).toBe('');
      expect(stdout, what).toMatch(/^build-fedora\/([A-Za-z0-9_-]+\/)?log_[\d_-]+(\.\d+)?\n$/);
      const path = stdout.trim();
      if (!path.includes('/', 'build-fedora/'.length)) existing = path.split('/')[1]!;
      const done = await waitFor(`${what}: the log to be published`, () => sim.published().find((p) => p.path === path), 30_000);
      const text = readText(join(sim.store, path));
      expect(text, what).toMatch(/ \+0000 > closing log\n$/);
      // What the live service granted is what a reader of the stored log finds.
      expect((done as unknown as { digests: number }).digests, what).toBe(manifestFromText(text, 'build-fedora').length);
      outcomes.stored++;
      outcomes.granted += (done as unknown as { digests: number }).digests;
    }
    // Every log any run left (killed callers' too) is closed and published; refused runs left none.
    // Logs only: not their provenance files (`<log>.intoto.json`, docs/logs.md Ledger).
    const logs = (await run('find', [sim.store, '-name', 'log_*', '-not', '-name', '*.intoto.json', '-type', 'f', '-not', '-path', '*/.git/*'])).stdout.toString().trim().split('\n');
    await waitFor('every log to be published', () => sim.published().length === logs.length, 30_000);
    for (const f of logs) expect(readText(f), f).toMatch(/ \+0000 > closing log\n$/);
    expect(outcomes.stored).toBeGreaterThan(10);
    expect(outcomes.granted).toBeGreaterThan(3);
    expect(outcomes.refused + outcomes.killed).toBeGreaterThan(0);
  }, 180_000);
});
