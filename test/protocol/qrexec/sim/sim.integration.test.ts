import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '../../../helpers/run.js';
import { startSim, type SimHandle } from '../../../helpers/sim.js';

// provision (examples/pillar.yml) → sim up → calls between qubes, all through dist/qbuild and
// the policy file that provision generated.
describe('simulator with the provisioned policy', () => {
  let sim: SimHandle;
  beforeAll(async () => { sim = await startSim({ daemons: false }); });
  afterAll(async () => { await sim?.down(); });

  it('redirects build-ENV → dom0 BuildLog to the logs qube, where the service runs', async () => {
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'hello from the build\n' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = r.stdout.toString().trim();
    expect(path).toMatch(/^build-fedora\/log_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d(\.\d+)?$/);
    expect(sim.routerLog()).toMatch(/allow build-fedora -> logs qubesbuilder\.BuildLog \(asked dom0\)/);
  });

  it('refuses build-ENV calling the logs qube directly (no rule names it as target): 126', async () => {
    const r = await sim.call('build-fedora', 'logs', 'qubesbuilder.BuildLog', { stdin: 'x\n' });
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('Request refused');
  });

  it('refuses keys-ENV → build-ENV for every qbuild service: 126', async () => {
    for (const svc of ['qubesbuilder.TriggerBuild+core-qrexec', 'qubesbuilder.ProcessGithubCommand', 'qubes.Gpg', 'qubesbuilder.BuildLog']) {
      const r = await sim.call('keys-fedora', 'build-fedora', svc);
      expect(r.code, svc).toBe(126);
    }
    expect(sim.routerLog()).toMatch(/deny keys-fedora -> build-fedora/);
  });

  it('answers 127 for a service the target does not have', async () => {
    // Allowed by policy (sys-net may call build VMs' services) but absent in the target qube.
    appendFileSync(`${sim.dir}/policy.d/31-test.policy`, 'test.Absent * sys-net build-fedora allow\n');
    const r = await sim.call('sys-net', 'build-fedora', 'test.Absent');
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/does not exist/);
  });

  it('keeps LogReceived to dom0 only: @default is refused', async () => {
    const r = await sim.call('logs', '@default', 'qubesbuilder.LogReceived+build-fedora');
    expect(r.code).toBe(126);
  });

  it('fails calls to a halted qube with 125, and delivers again once it is started', async () => {
    expect((await run(sim.bin, ['sim', 'halt', '--formula', sim.dir, 'logs'])).code).toBe(0);
    const off = await sim.call('build-debian', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\n' });
    expect(off.code).toBe(125);
    expect(off.stderr).toMatch(/halted/);
    expect((await run(sim.bin, ['sim', 'start', '--formula', sim.dir, 'logs'])).code).toBe(0);
    const on = await sim.call('build-debian', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\n' });
    expect(on.code).toBe(0);
  });

  it('runs the stub as its own process with the qrexec environment; stdio and exit code come back', async () => {
    appendFileSync(`${sim.dir}/policy.d/31-test.policy`, 'test.Env * sys-net build-fedora allow\n');
    const stub = `${sim.qubeDir('build-fedora')}/rpc/test.Env`;
    writeFileSync(stub, [
      '#!/bin/sh',
      'echo "remote=$QREXEC_REMOTE_DOMAIN full=$QREXEC_SERVICE_FULL_NAME arg=$QREXEC_SERVICE_ARGUMENT argv1=$1 asked=$QREXEC_REQUESTED_TARGET vm=$QBUILD_SIM_VM pid=$$"',
      'tr a-z A-Z', 'echo "to stderr" >&2', 'exit 42', '',
    ].join('\n'), { mode: 0o755 });
    const r = await sim.call('sys-net', 'build-fedora', 'test.Env+some-arg', { stdin: 'piped input\n' });
    expect(r.code).toBe(42);
    expect(r.stderr).toBe('to stderr\n');
    const [envLine, echoed] = r.stdout.toString().split('\n');
    expect(envLine).toMatch(/^remote=sys-net full=test\.Env\+some-arg arg=some-arg argv1=some-arg asked=build-fedora vm=build-fedora pid=\d+$/);
    expect(Number(/pid=(\d+)/.exec(envLine!)![1])).not.toBe(process.pid);
    expect(echoed).toBe('PIPED INPUT');
  });

  it('materialises every planned qube', () => {
    const plan = JSON.parse(readFileSync(`${sim.dir}/plan.json`, 'utf8')) as { vms: { name: string }[] };
    expect(plan.vms.map((v) => v.name).sort()).toEqual(['build-debian', 'build-fedora', 'keys-debian', 'keys-fedora', 'logs', 'sys-net']);
  });
});
