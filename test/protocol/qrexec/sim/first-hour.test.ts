import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignerKey, verifierKeyOf, parseVerifierKey } from '../../../../src/protocol/note/note.js';
import { openTicket } from '../../../../src/protocol/ticket/ticket.js';
import { signBody } from '../../../../src/protocol/github/signature.js';
import { githubExample } from '../../github/fixtures.js';
import { run } from '../../../helpers/run.js';
import { startSim, type SimHandle } from '../../../helpers/sim.js';
import { waitFor } from '../../../helpers/wait.js';
import { deliver, inbox } from '../../../roles/sysnet/sim-helpers.js';

// The example pillar exactly as shipped, provisioned and started with no edits: every daemon
// stays up, a build log's qbuild-sign line becomes a ticket in the keys qube, and a signed
// webhook reaches both build VMs. What `sim up` created inside the qubes is all it takes.
let sim: SimHandle;
beforeAll(async () => { sim = await startSim(); }, 60_000);
afterAll(async () => { await sim?.down(); });

const HASH = 'c3'.repeat(32);

describe('the example pillar in the simulator, unedited', () => {
  it('turns a log with a qbuild-sign line into a ticket keys-fedora accepts', async () => {
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `building\nqbuild-sign sha256:${HASH} foo.rpm\nqbuild-log-end\n` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = r.stdout.toString().trim();
    const received = join(sim.stateDir('keys-fedora'), 'tickets', 'build-fedora', 'received');
    const note = await waitFor('the ticket at keys-fedora', () => {
      const n = existsSync(received) ? readdirSync(received) : [];
      return n.length ? readFileSync(join(received, n[0]!), 'utf8') : undefined;
    });
    const signer = parseSignerKey(readFileSync(join(sim.stateDir('logs'), 'note.key'), 'utf8').trim());
    const t = openTicket(note, [parseVerifierKey(verifierKeyOf(signer))]);
    expect(t.logPath).toBe(path);
    expect(t.digests).toEqual([{ form: 'binary', sha256: HASH, label: 'foo.rpm' }]);
    // The keys qube's own view: it holds a grant for those bytes.
    const grants = await run(sim.bin, ['sim', 'exec', '--formula', sim.dir, 'keys-fedora', '--', 'qbuild', 'role', 'keys', 'tickets']);
    expect(grants.code, grants.stderr).toBe(0);
    expect(grants.stdout.toString()).toContain(HASH);
  }, 60_000);

  it('queues a webhook signed with the secret sim up created and delivers it to both build VMs', async () => {
    const secret = readFileSync(join(sim.qubeDir('sys-net'), 'root', 'rw', 'config', 'qbuild', 'webhook-secret'), 'utf8').trim();
    const bound = readFileSync(join(sim.stateDir('sys-net'), 'sysnet', 'listening'), 'utf8').trim();
    expect(bound).toMatch(/^127\.0\.0\.1:\d+$/);
    const p = githubExample('push');
    (p.repository as Record<string, unknown>).full_name = 'QubesOS/qubes-webhook-test'; // no build daemon fetches it
    const body = JSON.stringify(p);
    const reply = await deliver(Number(bound.split(':')[1]), '/github-hooks/trigger-build', 'push', body, randomUUID(), signBody(secret, body));
    expect(reply.status).toBe(202);
    for (const vm of ['build-fedora', 'build-debian']) {
      await waitFor(`${vm} inbox`, () => inbox(sim, vm, 'trigger.jsonl').length === 1);
      expect(inbox(sim, vm, 'trigger.jsonl')[0]).toMatchObject({ from: 'sys-net' });
    }
  }, 60_000);

  it('has had no daemon restart', async () => {
    const st = await run(sim.bin, ['sim', 'status', '--formula', sim.dir]);
    expect(st.code, st.stderr).toBe(0);
    const daemons = st.stdout.toString().split('\n').filter((l) => /^  \S+ +role /.test(l));
    expect(daemons).toHaveLength(4);
    for (const l of daemons) expect(l).toMatch(/ running pid \d+, restarts 0/);
    expect(sim.routerLog()).not.toMatch(/ exited \(/);
  });
});
