import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../src/protocol/note/note.js';
import { openAnyTicket } from '../../../src/protocol/ticket/open.js';
import { run } from '../../helpers/run.js';
import { openLogPath, readText, spoolNames, startLogsSim, type LogsSim } from './logs-sim.js';
import { waitFor } from '../../helpers/wait.js';

const H1 = '1f'.repeat(32);
const H2 = 'e0'.repeat(32);

let sim: LogsSim;
beforeAll(async () => { sim = await startLogsSim(); }, 60_000);
afterAll(async () => { await sim?.down(); });

/** A BuildLog call from build-fedora that stays open: the test writes, then ends or kills it. */
const openStream = (arg = '') => sim.spawnCall('build-fedora', 'dom0', `qubesbuilder.BuildLog${arg}`);

/** Subjects of the logs repository's commits. */
async function committed(): Promise<string> {
  const r = await run('git', ['-C', sim.store, 'log', '--format=%s', 'main']);
  return r.stdout.toString();
}

describe('logs VM in the simulator', () => {
  it('stores a build log, commits it, and delivers a signed ticket to the keys VM', async () => {
    const input = `building\nqbuild-sign sha256:${H1} foo-1.0-1.fc41.x86_64.rpm\nqbuild-sign sha256:${H2} repomd.xml\nqbuild-log-end\n`;
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: input });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = r.stdout.toString().trim();
    expect(path).toMatch(/^build-fedora\/log_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
    const text = readText(join(sim.store, path));
    expect(text).toContain(' +0000 build-fedora: building\n');
    expect(text).not.toContain('incomplete');
    await waitFor('the commit', async () => (await committed()).includes(`Add ${path}`));
    // The ticket reached keys-fedora through the router and the provisioned policy.
    const received = join(sim.stateDir('keys-fedora'), 'tickets', 'build-fedora', 'received');
    const note = await waitFor('the ticket at keys-fedora', () => {
      const n = existsSync(received) ? readdirSync(received) : [];
      return n.length ? readFileSync(join(received, n[0]!), 'utf8') : undefined;
    });
    const { version, ticket: t } = openAnyTicket(note, [parseVerifierKey(sim.verifierKey)]);
    expect(version).toBe(2);
    expect(t.buildVm).toBe('build-fedora');
    expect(t.logPath).toBe(path);
    expect(t.digests).toEqual([{ form: 'binary', sha256: H1, label: 'foo-1.0-1.fc41.x86_64.rpm' }, { form: 'binary', sha256: H2, label: 'repomd.xml' }]);
    const sha = (await run('sha256sum', [join(sim.store, path)])).stdout.toString().slice(0, 64);
    expect(t.logSha256).toBe(sha);
    expect(sim.routerLog()).toMatch(/allow logs -> keys-fedora qubesbuilder.LogReceived\+build-fedora \(asked dom0\)/);
    // The daemon records the delivery once LogReceived has returned, a moment after the keys qube stored it.
    const status = await waitFor('the logs daemon to record the delivered ticket', async () => {
      const r = await sim.run('logs', ['role', 'logs', 'status']);
      return r.stdout.toString().includes(`last ticket: ${path} → keys-fedora`) ? r : undefined;
    });
    expect(status.stdout.toString()).toContain(`last ticket: ${path} → keys-fedora`);
  }, 60_000);

  it('runs one daemon per store', async () => {
    const r = await sim.run('logs', ['role', 'logs', '--serve']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^qbuild: logs: another logs daemon \(pid \d+\) owns this store\n$/);
  });

  it('refuses BuildLog from a VM the policy does not allow', async () => {
    const r = await sim.call('sys-net', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\n' });
    expect(r.code).toBe(126);
  });

  it('keeps every line when the sender is killed mid-stream, and publishes the log as incomplete', async () => {
    const before = spoolNames(sim);
    const child = openStream();
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} before the kill`);
    child.stdin.write(`${lines.join('\n')}\npartial line wit`);
    const path = await openLogPath(sim, before);
    const abs = join(sim.store, path);
    await waitFor('the lines on disk', () => readText(abs).includes('line 199 before the kill'));
    child.kill('SIGKILL');
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path));
    expect(done.complete).toBe(false);
    const text = readText(abs);
    for (const l of lines) expect(text).toContain(` +0000 build-fedora: ${l}\n`);
    expect(text).toMatch(/ \+0000 build-fedora: partial line wit\n.* \+0000 > incomplete: [^\n]*\n.* \+0000 > closing log\n$/);
    expect(await committed()).toContain(`Add ${path}`);
  }, 60_000);

  it('keeps every line when the logs side is SIGKILLed mid-stream; the restarted daemon closes and commits it', async () => {
    const before = spoolNames(sim);
    const child = openStream();
    const lines = Array.from({ length: 100 }, (_, i) => `crash test ${i}`);
    child.stdin.write(`${lines.join('\n')}\n`);
    const path = await openLogPath(sim, before);
    const abs = join(sim.store, path);
    await waitFor('the lines on disk', () => readText(abs).includes('crash test 99'));
    // The logs VM "crashes": its daemon and the BuildLog service die at once.
    const spoolRec = JSON.parse(readFileSync(join(sim.stateDir('logs'), 'spool', `${path.replace(/\//g, '+')}.open.json`), 'utf8'));
    const daemon = sim.daemonPid();
    process.kill(daemon, 'SIGKILL');
    process.kill(spoolRec.pid, 'SIGKILL');
    child.kill('SIGKILL');
    // The simulator restarts the daemon (like systemd); it finds the abandoned log.
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 30_000);
    expect(sim.daemonPid()).not.toBe(daemon);
    expect(done.complete).toBe(false);
    const text = readText(abs);
    for (const l of lines) expect(text).toContain(` +0000 build-fedora: ${l}\n`);
    expect(text).toMatch(/> incomplete: the logs service stopped before the stream ended\n.* \+0000 > closing log\n$/);
    expect(await committed()).toContain(`Add ${path}`);
  }, 60_000);

  it('keeps receiving while the daemon is down: a log finished meanwhile is committed after its restart', async () => {
    const before = spoolNames(sim);
    const child = openStream('+stage2');
    child.stdin.write('first half\n');
    const path = await openLogPath(sim, before);
    const abs = join(sim.store, path);
    await waitFor('first line', () => readText(abs).includes('first half'));
    process.kill(sim.daemonPid(), 'SIGKILL');
    child.stdin.end('second half\nqbuild-log-end\n');
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    await new Promise((r) => child.on('close', r));
    expect(Buffer.concat(out).toString()).toBe(`${path}\n`);
    expect(path).toMatch(/^build-fedora\/stage2\/log_/);
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 30_000);
    expect(done.complete).toBe(true);
    expect(readText(abs)).toMatch(/first half\n.*second half\n.*qbuild-log-end\n.* > closing log\n$/);
  }, 60_000);
});
