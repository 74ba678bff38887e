import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DispVmExecutor } from '../../../../src/roles/build/executor/dispvm.js';
import type { ExecSpec } from '../../../../src/roles/build/executor/executor.js';
import { recipeEnv } from '../../../../src/roles/build/executor/env.js';
import { SimTransport } from '../../../../src/protocol/qrexec/transport-sim.js';
import { repoRoot } from '../../../helpers/binary.js';
import { startSim, type SimHandle } from '../../../helpers/sim.js';
import { waitFor } from '../../../helpers/wait.js';

// DispVmExecutor through the simulator and the built binary: each run is a RunRecipe call to
// @dispvm:dvm-build-fedora, served in a fresh disposable qube directory destroyed afterwards.
const DVM = 'dvm-build-fedora';
let sim: SimHandle;
let work: string;
let executor: DispVmExecutor;

const pillar = () => readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8').replace(/(\n    fedora:\n      logs: logs\n)/, '$1      executor: dispvm\n');

beforeAll(async () => {
  sim = await startSim({ pillar: pillar(), daemons: false });
  executor = new DispVmExecutor(new SimTransport(join(sim.qubeDir('build-fedora'), 'qrexec.sock')), DVM);
  work = mkdtempSync(join(tmpdir(), 'qb-dispvm-'));
}, 90_000);
afterAll(async () => {
  await sim?.down();
  if (work) rmSync(work, { recursive: true, force: true });
});

const disposables = () => readdirSync(join(sim.dir, 'qubes')).filter((n) => /^disp\d+$/.test(n));
const noDisposableLeft = () => waitFor('the disposable to be destroyed', () => disposables().length === 0 || undefined, 10_000);

function spec(name: string, script: string, o: Partial<ExecSpec> = {}): ExecSpec & { out: () => string } {
  const cwd = join(work, name, 'job');
  const chunks: Buffer[] = [];
  return {
    argv: ['sh', '-c', script], cwd, env: recipeEnv({ home: join(cwd, 'home'), tmp: join(cwd, 'tmp') }, { OUTPUT_DIR: join(cwd, 'out') }),
    timeoutMs: 60_000, outputCapBytes: 1 << 20, onOutput: (c) => { chunks.push(c); }, ...o,
    out: () => Buffer.concat(chunks).toString(),
  };
}

describe('DispVmExecutor in the simulator', () => {
  it('runs in a fresh disposable: inputs in, output live, exit code, the work dir back; the disposable is gone after', async () => {
    const input = join(work, 'input');
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, 'source.txt'), 'from the checkout\n');
    const s = spec('basic', 'mkdir -p "$HOME" "$OUTPUT_DIR"; cat "$SOURCE"; echo err >&2; echo result > "$OUTPUT_DIR/r.txt"; pwd > "$OUTPUT_DIR/pwd"; exit 3', {
      inputDirs: [input],
    });
    s.env = { ...s.env, SOURCE: join(input, 'source.txt') };
    const r = await executor.run(s);
    expect(r).toEqual({ kind: 'exited', code: 3, outputBytes: s.out().length });
    expect(s.out()).toBe('from the checkout\nerr\n');
    expect(readFileSync(join(s.cwd, 'out', 'r.txt'), 'utf8')).toBe('result\n');
    // The recipe ran under the disposable's own root, not in the build qube's directory.
    const pwd = readFileSync(join(s.cwd, 'out', 'pwd'), 'utf8').trim();
    expect(pwd).toMatch(new RegExp(`/qubes/disp\\d+/home/qbuild-run-[^/]+${s.cwd}$`));
    expect(sim.routerLog()).toMatch(/allow build-fedora -> @dispvm:dvm-build-fedora qubesbuilder\.RunRecipe \(disposable disp\d+\)/);
    await noDisposableLeft();
  }, 60_000);

  it('keeps nothing between runs, and the build qube\'s files are not in the disposable', async () => {
    const key = join(sim.stateDir('build-fedora'), 'ssh', 'id_ed25519');
    mkdirSync(join(sim.stateDir('build-fedora'), 'ssh'), { recursive: true });
    writeFileSync(key, 'SECRET KEY\n', { mode: 0o600 });
    const rel = (p: string, cwd: string) => join(...cwd.split('/').filter(Boolean).map(() => '..'), p);
    const s1 = spec('iso1', '');
    const leak = rel(key, s1.cwd);
    s1.argv = ['sh', '-c', `mkdir -p "$HOME"; echo pwned > "$HOME/.bashrc"; echo x > ../outside; echo x > ~/../../marker 2>/dev/null; cat ${leak} 2>&1 || echo NO-KEY`];
    expect((await executor.run(s1)).kind).toBe('exited');
    expect(s1.out()).toContain('NO-KEY');
    expect(s1.out()).not.toContain('SECRET');
    // Only the work dir comes back: ../outside stayed in the disposable.
    expect(existsSync(join(s1.cwd, '..', 'outside'))).toBe(false);
    await noDisposableLeft();
    const s2 = spec('iso2', 'ls -a ../ "$HOME" 2>&1; test -e ../outside && echo FOUND-OUTSIDE; test -e "$HOME/.bashrc" && echo FOUND-BASHRC; echo done');
    await executor.run(s2);
    expect(s2.out()).toContain('done');
    expect(s2.out()).not.toMatch(/FOUND/);
    await noDisposableLeft();
  }, 60_000);

  it('kills what the recipe left running, even in a session of its own, with the disposable', async () => {
    // Its own session and no hold on the output pipe: a local run would leave it behind.
    const s = spec('daemon', 'setsid sleep 60 </dev/null >/dev/null 2>&1 & echo "pid $!"; sleep 0.3');
    expect((await executor.run(s)).kind).toBe('exited');
    const pid = Number(/pid (\d+)/.exec(s.out())![1]);
    await noDisposableLeft();
    await waitFor('the escaped process to be gone', () => { try { process.kill(pid, 0); return undefined; } catch { return true; } }, 5000);
  }, 60_000);

  it('ends a run at its timeout, and the disposable is destroyed', async () => {
    const s = spec('timeout', 'echo started; sleep 30', { timeoutMs: 2000 });
    const t0 = Date.now();
    const r = await executor.run(s);
    expect(r.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(s.out()).toBe('started\n');
    await noDisposableLeft();
  }, 60_000);

  it('ends a run at its timeout while a slow log holds its output back', async () => {
    const s = spec('slow-log', 'while :; do echo line; done', { timeoutMs: 1000 });
    let calls = 0;
    s.onOutput = () => { calls++; return new Promise((r) => setTimeout(r, 2000)); };
    const r = await executor.run(s);
    expect(r.kind).toBe('timeout');
    expect(calls).toBe(1);
    await noDisposableLeft();
  }, 60_000);

  it('ends a run past its output cap, and the disposable is destroyed', async () => {
    const s = spec('cap', 'yes qbuild', { outputCapBytes: 100_000 });
    const r = await executor.run(s);
    expect(r).toEqual({ kind: 'output-cap', capBytes: 100_000, outputBytes: 100_000 });
    expect(s.out().length).toBe(100_000);
    await noDisposableLeft();
  }, 60_000);

  it('ends a run when aborted', async () => {
    const abort = new AbortController();
    const s = spec('abort', 'echo go; sleep 30', { onOutput: () => { abort.abort(); }, signal: abort.signal });
    expect((await executor.run(s)).kind).toBe('aborted');
    await noDisposableLeft();
  }, 60_000);

  it('refuses a work dir coming back with a symlink out or a FIFO, with one line, writing nothing', async () => {
    const before = readFileSync(join(work, 'input', 'source.txt'), 'utf8');
    for (const [name, script, why] of [
      ['link', 'mkdir -p out; ln -s / out/root', /refused what the disposable returned: .*out\/root.*absolute path/],
      ['chain', 'ln -s . s; ln -s s/.. up', /refused what the disposable returned: "up": a symlink pointing outside the work dir/],
      ['fifo', 'mkfifo f', /refused what the disposable returned: "f" is a FIFO/],
    ] as const) {
      const s = spec(name, script);
      mkdirSync(s.cwd, { recursive: true });
      writeFileSync(join(s.cwd, 'kept'), 'as sent\n');
      const err = await executor.run(s).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(why);
      expect(err?.message).not.toContain('\n');
      // The work dir is as it was sent; nothing next to it either.
      expect(readdirSync(s.cwd)).toEqual(['kept']);
      expect(readdirSync(join(s.cwd, '..'))).toEqual(['job']);
    }
    expect(readFileSync(join(work, 'input', 'source.txt'), 'utf8')).toBe(before);
    await noDisposableLeft();
  }, 60_000);

  it('lists live disposables in sim status', async () => {
    const s = spec('status', 'echo up; sleep 5');
    let status = '';
    s.onOutput = async () => {
      status = (await sim.run('build-fedora', ['sim', 'status', '--formula', sim.dir])).stdout.toString();
    };
    await executor.run({ ...s, timeoutMs: 1500 });
    expect(status).toMatch(/disposable disp\d+ \(of dvm-build-fedora\): serving a call/);
    await noDisposableLeft();
  }, 60_000);
});
