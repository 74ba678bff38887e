import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../helpers/run.js';
import type { SimHandle } from '../../helpers/sim.js';
import { signBody } from '../../../src/protocol/github/signature.js';
import { githubExample } from '../../protocol/github/fixtures.js';
import { TestSigner } from '../../helpers/gpg.js';
import { waitFor } from '../../helpers/wait.js';
import { BUILD_VMS, deliver, inbox, listenerPort, startSysnetSim } from './sim-helpers.js';

const TRIGGER = '/github-hooks/trigger-build';
const COMMENT = '/github-hooks/process-comment';

let sim: SimHandle;
let signer: TestSigner;
let port: number;
beforeAll(async () => {
  signer = new TestSigner();
  sim = await startSysnetSim();
  port = await listenerPort(sim);
}, 60_000);
afterAll(async () => {
  await sim?.down();
  signer?.cleanup();
});

/** Calls sys-net made, from the router's log. */
const forwardCalls = () => sim.routerLog().split('\n').filter((l) => /sys-net/.test(l) && /TriggerBuild|ProcessGithubCommand/.test(l));

describe('webhooks through the simulator to two build VMs', () => {
  it('forwards GitHub\'s example push and issue_comment payloads, signed, to both build VMs', async () => {
    const push = JSON.stringify(githubExample('push'));
    expect((await deliver(port, TRIGGER, 'push', push, randomUUID())).status).toBe(202);

    const block = signer.clearsign('Upload-component r4.2 core-qrexec 0123456789abcdef0123456789abcdef01234567 current all\n');
    const comment = githubExample('issue_comment', 'created');
    (comment.comment as Record<string, unknown>).body = `Signed command:\r\n\r\n${block.replace(/\n/g, '\r\n')}`;
    expect((await deliver(port, COMMENT, 'issue_comment', JSON.stringify(comment), randomUUID())).status).toBe(202);

    for (const vm of BUILD_VMS) {
      await waitFor(`${vm} inbox`, () => inbox(sim, vm, 'trigger.jsonl').length === 1 && inbox(sim, vm, 'command.jsonl').length === 1);
      expect(inbox(sim, vm, 'trigger.jsonl')[0]).toMatchObject({ from: 'sys-net', component: 'Hello-World' });
      const got = inbox(sim, vm, 'command.jsonl')[0]!;
      expect(got).toMatchObject({ from: 'sys-net', text: block });
      expect(signer.verifies(got.text as string)).toBe(true);
    }
  }, 60_000);

  it('answers 401 to a wrong or missing signature and forwards nothing', async () => {
    const before = forwardCalls().length;
    const counts = () => BUILD_VMS.map((vm) => inbox(sim, vm, 'trigger.jsonl').length + inbox(sim, vm, 'command.jsonl').length);
    const start = counts();
    const push = JSON.stringify(githubExample('push'));
    expect((await deliver(port, TRIGGER, 'push', push, randomUUID(), signBody('not-the-secret-at-all', push))).status).toBe(401);
    expect((await deliver(port, TRIGGER, 'push', push, randomUUID(), null)).status).toBe(401);
    const c = JSON.stringify(githubExample('issue_comment', 'created'));
    expect((await deliver(port, COMMENT, 'issue_comment', c, randomUUID(), `sha256=${'0'.repeat(64)}`)).status).toBe(401);
    // A signed delivery afterwards is forwarded: so the 401s had their chance to be forwarded first.
    expect((await deliver(port, TRIGGER, 'push', push, randomUUID())).status).toBe(202);
    await waitFor('the signed delivery', () => counts().every((n, i) => n === start[i]! + 1));
    expect(forwardCalls().length).toBe(before + 2);
  }, 60_000);

  it('a listener killed right after its 202 delivers the work exactly once per build VM after restart', async () => {
    for (const vm of BUILD_VMS) expect((await run(sim.bin, ['sim', 'halt', '--formula', sim.dir, vm])).code).toBe(0);
    const base = BUILD_VMS.map((vm) => inbox(sim, vm, 'trigger.jsonl').length);
    const p = githubExample('push');
    (p.repository as Record<string, unknown>).full_name = 'QubesOS/qubes-webhook-test'; // not a component of the example: no build daemon fetches it
    const body = JSON.stringify(p);
    const guid = randomUUID();
    expect((await deliver(port, TRIGGER, 'push', body, guid)).status).toBe(202);
    const pidFile = readdirSync(join(sim.dir, 'sim')).find((f) => f.startsWith('daemon-sys-net-'))!;
    const pid = Number(readFileSync(join(sim.dir, 'sim', pidFile), 'utf8'));
    const listening = join(sim.stateDir('sys-net'), 'sysnet', 'listening');
    rmSync(listening);
    process.kill(pid, 'SIGKILL');
    // The sim restarts the daemon (as systemd would); it comes back on a new port.
    port = await listenerPort(sim);
    expect(Number(readFileSync(join(sim.dir, 'sim', pidFile), 'utf8'))).not.toBe(pid);
    for (const vm of BUILD_VMS) expect((await run(sim.bin, ['sim', 'start', '--formula', sim.dir, vm])).code).toBe(0);
    for (const [i, vm] of BUILD_VMS.entries()) {
      await waitFor(`${vm} delivery after restart`, () => inbox(sim, vm, 'trigger.jsonl').length === base[i]! + 1);
      expect(inbox(sim, vm, 'trigger.jsonl').at(-1)).toMatchObject({ component: 'webhook-test' });
    }
    // GitHub's "Redeliver": same GUID, same body. Not queued again, after the restart too.
    const again = await deliver(port, TRIGGER, 'push', body, guid);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body).message).toMatch(/duplicate/);
    // A fresh delivery goes through; by then a wrongly queued duplicate would have arrived first.
    expect((await deliver(port, TRIGGER, 'push', JSON.stringify(githubExample('push')), randomUUID())).status).toBe(202);
    for (const [i, vm] of BUILD_VMS.entries()) {
      await waitFor(`${vm} fresh delivery`, () => inbox(sim, vm, 'trigger.jsonl').length >= base[i]! + 2);
      expect(inbox(sim, vm, 'trigger.jsonl').slice(base[i]!).map((r) => r.component)).toEqual(['webhook-test', 'Hello-World']);
    }
    const daemonLog = readFileSync(join(sim.qubeDir('sys-net'), 'daemons.log'), 'utf8');
    expect(daemonLog).toMatch(/retry 1 in/); // the halted VMs were tried, failed, and retried
  }, 90_000);
});
