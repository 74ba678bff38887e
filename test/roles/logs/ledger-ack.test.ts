import { lstatSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/wait.js';
import { startLogsSim, type LogsSim } from './logs-sim.js';

// A v2 ticket is delivered only when the keys VM acknowledges it (exit 0 and its
// `checkpoint-size` line). A LogReceived that ends with exit 0 and says nothing — what a socket
// service whose keys daemon died mid-call looks like, since qrexec reports 0 for sockets — must
// leave the ticket queued, and it must arrive once the keys VM answers again.

let sim: LogsSim;
beforeAll(async () => { sim = await startLogsSim(); }, 60_000);
afterAll(async () => { await sim?.down(); });

const stub = () => join(sim.qubeDir('keys-fedora'), 'rpc', 'qubesbuilder.LogReceived');
const keysLog = (): string => { try { return readFileSync(join(sim.stateDir('keys-fedora'), 'keys.log'), 'utf8'); } catch { return ''; } };
const pending = (): string[] => { try { return readdirSync(join(sim.stateDir('logs'), 'tickets', 'pending')).filter((n) => n.endsWith('.json')); } catch { return []; } };

describe('LogReceived acknowledgement (through the simulator)', () => {
  it('exit 0 without an acknowledgement keeps the ticket queued; it is delivered when the keys VM answers', async () => {
    // Per-call mode: the entry is the stub script; socket mode: a symlink to the keys daemon's socket.
    const link = lstatSync(stub()).isSymbolicLink() ? readlinkSync(stub()) : undefined;
    const real = link === undefined ? readFileSync(stub()) : undefined;
    unlinkSync(stub());
    writeFileSync(stub(), '#!/bin/sh\ncat >/dev/null\nexit 0\n', { mode: 0o755 });
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `build\nqbuild-sign sha256:${'ab'.repeat(32)} a.rpm\nqbuild-log-end\n` });
    expect(r.code, r.stderr.toString()).toBe(0);
    const path = r.stdout.toString().trim();
    // The mute keys VM was asked (the router allowed the call) and the ticket is still queued.
    await waitFor('a LogReceived call to the mute keys VM', () => /allow logs -> keys-fedora qubesbuilder\.LogReceived\+build-fedora/.test(sim.routerLog()), 30_000);
    await new Promise((res) => setTimeout(res, 1500));
    expect(pending().length).toBeGreaterThan(0);
    expect(keysLog()).not.toContain(path);

    unlinkSync(stub());
    if (link !== undefined) symlinkSync(link, stub());
    else writeFileSync(stub(), real!, { mode: 0o755 });
    const line = await waitFor(`keys-fedora's verdict on ${path}`, () => keysLog().split('\n').find((l) => l.includes(path)), 60_000);
    expect(line).toMatch(/LogReceived from=logs accepted .* v2 leaf=0 checkpoint=1$/);
    await waitFor('the ticket queue to drain', () => pending().length === 0 || undefined, 30_000);
  });
});
