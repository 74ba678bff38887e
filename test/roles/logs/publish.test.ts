import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/run.js';
import { GpgHome } from '../../helpers/gpg.js';
import { startGitHttp } from './git-http.js';
import { startLogsSim, type LogsSim } from './logs-sim.js';
import { waitFor } from '../../helpers/wait.js';

const TOKEN = 'test-token-0123456789';
let tmp: string;
let remote: Awaited<ReturnType<typeof startGitHttp>>;
let sim: LogsSim;
let token = 'wrong-token';
let gnupg: GpgHome | undefined;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'qbuild-logs-pub-'));
  const bare = join(tmp, 'remote', 'build-logs.git');
  expect((await run('git', ['init', '--bare', '-b', 'main', bare])).code).toBe(0);
  expect((await run('git', ['-C', bare, 'config', 'http.receivepack', 'true'])).code).toBe(0);
  remote = await startGitHttp(join(tmp, 'remote'), () => token);
  writeFileSync(join(tmp, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  sim = await startLogsSim({ remote: { url: `${remote.url}/build-logs.git`, tokenFile: join(tmp, 'token') } });
}, 60_000);

afterAll(async () => {
  await sim?.down();
  await remote?.close();
  gnupg?.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

async function remoteHead(): Promise<string> {
  const r = await run('git', ['-C', join(tmp, 'remote', 'build-logs.git'), 'rev-parse', '--verify', '-q', 'refs/heads/main']);
  return r.stdout.toString().trim();
}

/** Tickets the keys VM of `env` has accepted for its build VM. */
function ticketsAt(env: string): number {
  const dir = join(sim.stateDir(`keys-${env}`), 'tickets', `build-${env}`, 'received');
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

async function localHead(): Promise<string> {
  return (await run('git', ['-C', sim.store, 'rev-parse', 'main'])).stdout.toString().trim();
}

describe('publishing to a git http-backend remote', () => {
  it('retries failed pushes across a daemon restart, then publishes commits that GnuPG verifies', async () => {
    // The remote refuses our token: logs are still received and committed locally.
    for (const i of [1, 2]) {
      const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `log ${i}\nqbuild-log-end\n` });
      expect(r.code).toBe(0);
    }
    await waitFor('two commits', () => sim.published().length === 2);
    await waitFor('a refused push', () => remote.requests.some((r) => r.endsWith('noauth')));
    expect(await remoteHead()).toBe('');
    const st = await sim.run('logs', ['role', 'logs', 'status']);
    expect(st.stdout.toString()).toMatch(/pending pushes: 2\n/);
    // No ticket names a log that is not published yet.
    expect(st.stdout.toString()).toMatch(/pending tickets: 2\n/);
    expect(ticketsAt('fedora')).toBe(0);
    // Unpushed commits survive a daemon crash.
    const pid = sim.daemonPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the daemon restart', () => { try { return sim.daemonPid() !== pid; } catch { return false; } });
    token = TOKEN;
    const r3 = await sim.call('build-debian', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'log 3\nqbuild-log-end\n' });
    expect(r3.code).toBe(0);
    await waitFor('three commits', () => sim.published().length === 3);
    const head = await localHead();
    await waitFor('the push', async () => (await remoteHead()) === head, 40_000);
    await waitFor('the tickets after the push', () => ticketsAt('fedora') === 2 && ticketsAt('debian') === 1);

    // A fresh clone over smart HTTP; every commit verifies with GnuPG.
    gnupg = new GpgHome();
    gnupg.gpgSync(['--import', join(sim.stateDir('logs'), 'pgp-public.asc')]);
    const clone = join(tmp, 'clone');
    const cl = await run('git', ['clone', '-q', `${remote.url.replace('//', `//qbuild:${TOKEN}@`)}/build-logs.git`, clone]);
    expect(cl.stderr).toBe('');
    const revs = (await run('git', ['-C', clone, 'rev-list', 'main'])).stdout.toString().trim().split('\n');
    expect(revs).toHaveLength(3);
    for (const rev of revs) {
      const v = await run('git', ['-C', clone, 'verify-commit', '-v', rev], { env: gnupg.env });
      expect(v.code, v.stderr).toBe(0);
      expect(v.stderr).toContain('Good signature from "qbuild logs');
      expect(v.stdout.toString() + v.stderr).toMatch(/committer qbuild logs/);
    }
    const subjects = (await run('git', ['-C', clone, 'log', '--format=%s'])).stdout.toString();
    expect(subjects).toMatch(/^Add build-debian\/log_\S+\nAdd build-fedora\/log_\S+\nAdd build-fedora\/log_\S+\n$/);
    const files = (await run('git', ['-C', clone, 'ls-files'])).stdout.toString().trim().split('\n');
    // The three logs, and the ledger's checkpoint and tiles (docs/logs.md, Ledger).
    expect(files.filter((f) => /\/log_[^/]+$/.test(f))).toHaveLength(3);
    expect(files).toContain('checkpoint');
    const st2 = await sim.run('logs', ['role', 'logs', 'status']);
    expect(st2.stdout.toString()).toMatch(/pending pushes: 0\n/);
  }, 120_000);
});
