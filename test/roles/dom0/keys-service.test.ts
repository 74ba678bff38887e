import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { vmStates } from '../../../src/salt/vm-sls.js';
import { daemonsScript } from '../../../src/salt/daemons.js';
import { repoRoot } from '../../helpers/binary.js';

const pillar = (extra: string) => readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8').replace(/^build-infra:\n/m, `build-infra:\n${extra}`);
const keysVm = (text: string) => makePlan(parsePillar(text, 'pillar.yml')).vms.find((v) => v.name === 'keys-fedora')!;

describe('pillar keys-service: how keys VMs offer qubes.Gpg and LogReceived', () => {
  it('process (the default): one stub per service, no daemon', () => {
    const vm = keysVm(pillar(''));
    expect(vm.daemons).toEqual([]);
    expect(vm.socketServices).toBeUndefined();
    expect(vmStates(vm)['/usr/local/etc/qubes-rpc/qubes.Gpg']).toHaveProperty('file.managed');
    expect(keysVm(pillar('  keys-service: process\n')).daemons).toEqual([]);
  });

  it('socket: the keys daemon started like the others, each service a symlink to the socket it binds', () => {
    const vm = keysVm(pillar('  keys-service: socket\n'));
    expect(vm.daemons).toEqual([['role', 'keys', '--serve']]);
    expect(vm.socketServices).toEqual(['qubes.Gpg', 'qubesbuilder.LogReceived']);
    const states = vmStates(vm);
    for (const s of vm.socketServices!) {
      expect(states[`/usr/local/etc/qubes-rpc/${s}`]).toEqual({ 'file.symlink': [{ target: `/home/user/qbuild/rpc/${s}` }, { force: true }, { makedirs: true }] });
    }
    expect(daemonsScript(vm)).toContain('start qbuild-role-keys /usr/local/bin/qbuild role keys --serve');
  });

  it('refuses any other value, naming both', () => {
    expect(() => parsePillar(pillar('  keys-service: daemon\n'), 'pillar.yml')).toThrow(/keys-service.*"process".*"socket"/);
  });
});
