import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/protocol/github/signature.js';
import { qbuildBin } from '../../helpers/binary.js';
import { githubExample } from '../../protocol/github/fixtures.js';
import { waitFor } from '../../helpers/wait.js';
import { httpRequest } from '../../helpers/http.js';

const SECRET = 'crash-secret-0123456789abcdef';
const push = JSON.stringify(githubExample('push'));
let dir: string;
let child: ChildProcess | undefined;
let agent: Agent;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qbuild-sysnet-crash-'));
  writeFileSync(join(dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({
    vm: 'sys-net', role: 'sysnet',
    // No qrexec here: every forward fails and is retried later, so accepted jobs stay queued.
    sysnet: { buildVms: ['build-a'], listen: '127.0.0.1:0', secretFile: join(dir, 'secret'), retryBaseMs: 60_000 },
  }));
  agent = new Agent({ keepAlive: true, maxSockets: 25 });
});
afterEach(async () => {
  agent.destroy();
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the built daemon on a fresh port; resolves with the port. */
async function startDaemon(): Promise<number> {
  const listening = join(dir, 'state', 'sysnet', 'listening');
  rmSync(listening, { force: true });
  child = spawn(qbuildBin(), ['role', 'sysnet', '--serve'], {
    env: { PATH: process.env.PATH, HOME: dir, QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: join(dir, 'state') },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitFor('sys-net listener', () => existsSync(listening) && readFileSync(listening, 'utf8').endsWith('\n'));
  return Number(/:(\d+)\n$/.exec(readFileSync(listening, 'utf8'))![1]);
}

async function deliver(port: number, delivery: string): Promise<number> {
  return (await httpRequest(port, '/github-hooks/trigger-build', {
    method: 'POST', agent, body: push,
    headers: {
      'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': delivery,
      'x-hub-signature-256': signBody(SECRET, push),
    },
  })).status;
}

describe('sys-net forward queue across a crash', () => {
  it('keeps every acknowledged delivery after SIGKILL under load and a torn journal tail', async () => {
    let port = await startDaemon();
    const acknowledged: string[] = [];
    let answered = 0;
    const killed = new Promise<void>((resolve) => {
      // 300 concurrent deliveries; the daemon is killed once 100 have been answered, so
      // batches are in flight at that moment.
      for (let i = 0; i < 300; i++) {
        const guid = `crash-${i}`;
        deliver(port, guid).then((status) => {
          if (status === 202) acknowledged.push(guid);
          if (++answered === 100) { child!.kill('SIGKILL'); resolve(); }
        }, () => { /* cut off by the kill */ });
      }
    });
    await killed;
    await new Promise((r) => (child!.exitCode === null && child!.signalCode === null ? child!.once('exit', r) : r(null)));
    expect(acknowledged.length).toBeGreaterThanOrEqual(100);
    // A power loss in the middle of a write: the last line is torn.
    const journal = join(dir, 'state', 'sysnet', 'queue.jsonl');
    appendFileSync(journal, '{"t":"job","id":100000,"d":"torn-guid","at":1,"w":{"kind":"trig');

    agent.destroy();
    agent = new Agent({ keepAlive: true, maxSockets: 25 });
    port = await startDaemon();
    // Every acknowledged delivery survived: redelivering it is a duplicate (200), not a new job.
    const again = await Promise.all(acknowledged.map((g) => deliver(port, g)));
    expect(again.filter((s) => s !== 200)).toEqual([]);
    // The torn record was never acknowledged: that GUID is new.
    expect(await deliver(port, 'torn-guid')).toBe(202);
    const exited = new Promise((r) => child!.once('exit', r));
    child!.kill('SIGTERM');
    await exited;
    const lines = readFileSync(journal, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const guids = new Set(lines.map((l) => (JSON.parse(l) as { d?: string }).d));
    for (const g of [...acknowledged, 'torn-guid']) expect(guids.has(g)).toBe(true);
  }, 60_000);
});
