import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimHandle } from '../../helpers/sim.js';
import { startSysnetSim } from './sim-helpers.js';
import { listenLoopback } from '../../helpers/net.js';

/** A TCP echo server standing in for port 22; it half-closes after its client does. */
let echo: Server;
let connections = 0;
let sim: SimHandle;

beforeAll(async () => {
  echo = createServer({ allowHalfOpen: true }, (s) => {
    connections++;
    s.on('data', (b) => s.write(b));
    s.on('end', () => s.end());
  });
  const sshPort = await listenLoopback(echo);
  // Policy allows both loopback names (pillar remote-hosts); sys-net's own allowlist only one.
  sim = await startSysnetSim({ sshPort, sshHosts: ['localhost'] });
}, 60_000);
afterAll(async () => {
  await sim?.down();
  await new Promise<void>((r) => echo.close(() => r()));
});

describe('local.ConnectSSH through the simulator', () => {
  it('relays bytes both ways to the allowed host, up to the echo of the last byte', async () => {
    const data = randomBytes(300_000);
    const r = await sim.call('build-fedora', 'sys-net', 'local.ConnectSSH+localhost', { stdin: data });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.equals(data)).toBe(true);
  }, 30_000);

  it('refuses a host policy allows but sys-net\'s allowlist does not, without connecting', async () => {
    const before = connections;
    const r = await sim.call('build-fedora', 'sys-net', 'local.ConnectSSH+127.0.0.1', { stdin: 'SSH-2.0-test\r\n' });
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/127\.0\.0\.1 is not on the ssh allowlist/);
    expect(r.stdout.length).toBe(0);
    expect(connections).toBe(before);
  }, 30_000);

  it('is refused by policy for a host not provisioned at all', async () => {
    const before = connections;
    const r = await sim.call('build-fedora', 'sys-net', 'local.ConnectSSH+example.com', { stdin: '' });
    expect(r.code).toBe(126);
    expect(r.stdout.length).toBe(0);
    expect(sim.routerLog()).toMatch(/deny build-fedora -> sys-net local\.ConnectSSH\+example\.com/);
    expect(connections).toBe(before);
  }, 30_000);
});
