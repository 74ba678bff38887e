import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimHandle } from '../../helpers/sim.js';
import { waitFor } from '../../helpers/wait.js';

/** The example pillar, provisioned and brought up: what a build qube gets from dom0. */
describe('provisioned build qubes in the simulator', () => {
  let sim: SimHandle;
  beforeAll(async () => { sim = await startSim(); }, 60_000);
  afterAll(async () => { await sim?.down(); });

  it('start the build daemon on their provisioned config', async () => {
    for (const [vm, dists] of [['build-fedora', 'host-fc41, vm-fc42'], ['build-debian', 'vm-bookworm, vm-trixie']] as const) {
      const log = join(sim.qubeDir(vm), 'daemons.log');
      const line = await waitFor(`${vm}'s build daemon`, () => {
        try { return /build daemon up \(pid \d+\): (.*)/.exec(readFileSync(log, 'utf8'))?.[1]; } catch { return undefined; }
      });
      expect(line).toBe(`${vm === 'build-fedora' ? 3 : 2} components, dists ${dists}`);
    }
    const status = await sim.run('build-fedora', ['role', 'build', 'status']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout.toString()).toMatch(/^build daemon: running\n/);
    for (const c of ['core-qrexec', 'linux-utils', 'app-linux-split-gpg']) expect(status.stdout.toString()).toContain(`  ${c} `);
  });

  it('have ~/.ssh from the formula: the ConnectSSH proxy and the pinned host key', () => {
    const ssh = join(sim.qubeDir('build-fedora'), 'home', '.ssh');
    const config = readFileSync(join(ssh, 'config'), 'utf8');
    expect(config).toBe(readFileSync(join(sim.dir, 'files', 'build-fedora', 'home', '.ssh', 'config'), 'utf8'));
    expect(config).toContain('ProxyCommand qrexec-client-vm sys-net local.ConnectSSH+%h\n');
    expect(statSync(join(ssh, 'config')).mode & 0o077).toBe(0);
    const pillar = readFileSync(join(sim.dir, '..', 'pillar.yml'), 'utf8');
    const key = /ssh_host_key: (\S+)/.exec(pillar)![1]!;
    expect(readFileSync(join(ssh, 'known_hosts'), 'utf8')).toBe(`yum.qubes-os.org ssh-rsa ${key}\n`);
  });
});
