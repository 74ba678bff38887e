import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { repoRoot } from '../../helpers/binary.js';

const example = () => makePlan(parsePillar(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8'), 'pillar.yml'));

describe('makePlan', () => {
  it('plans build/keys per env, one logs VM, and configures the existing sys-net', () => {
    const plan = example();
    expect(plan.format).toBe('qbuild-plan-1');
    expect(plan.vms.map((v) => [v.name, v.role, v.label, v.template, v.netvm, v.existing ?? false])).toEqual([
      ['build-fedora', 'build', 'green', 'fedora-43-xfce', 'sys-whonix', false],
      ['keys-fedora', 'keys', 'black', 'fedora-43-minimal', null, false],
      ['build-debian', 'build', 'green', 'fedora-43-xfce', 'sys-whonix', false],
      ['keys-debian', 'keys', 'black', 'fedora-43-minimal', null, false],
      ['logs', 'logs', 'green', 'fedora-43-xfce', 'sys-firewall', false],
      ['sys-net', 'sysnet', 'red', null, null, true],
    ]);
    const byName = Object.fromEntries(plan.vms.map((v) => [v.name, v]));
    expect(byName['build-fedora']!.volumeSize).toBe('20GiB');
    expect(byName['build-debian']!.volumeSize).toBeUndefined();
    expect(byName['build-fedora']!.services).toEqual(['qubesbuilder.TriggerBuild', 'qubesbuilder.ProcessGithubCommand']);
    expect(byName['keys-fedora']!.services).toEqual(['qubes.Gpg', 'qubesbuilder.LogReceived']);
    expect(byName.logs!.services).toEqual(['qubesbuilder.BuildLog']);
    expect(byName['sys-net']!.services).toEqual(['local.ConnectSSH']);
    expect(byName.logs!.daemons).toEqual([['role', 'logs', '--serve']]);
    expect(byName['sys-net']!.daemons).toEqual([['role', 'sysnet', '--serve']]);
    expect(byName['keys-fedora']!.daemons).toEqual([]);
    expect(byName['build-fedora']!.daemons).toEqual([['role', 'build', '--serve']]);
    expect(byName['build-debian']!.daemons).toEqual([['role', 'build', '--serve']]);
    // The build template gets the build tools, by their Fedora names (the default template is Fedora).
    expect(plan.templates).toEqual([{
      name: 'fedora-43-xfce', role: 'build',
      packages: ['rpm-build', 'rpm-sign', 'createrepo_c', 'dpkg-dev', 'devscripts', 'apt-utils', 'rsync', 'openssh-clients', 'git', 'gnupg2'],
    }]);
  });

  it('gives each build VM ~/.ssh/config through local.ConnectSSH and known_hosts from remote-hosts', () => {
    const plan = example();
    const build = plan.vms.find((v) => v.name === 'build-fedora')!;
    expect(build.homeFiles!.map((f) => [f.path, f.mode])).toEqual([['.ssh/config', '0600'], ['.ssh/known_hosts', '0644']]);
    const [config, known] = build.homeFiles!.map((f) => f.text);
    expect(config).toContain('Host yum.qubes-os.org\n    User user\n    ProxyCommand qrexec-client-vm sys-net local.ConnectSSH+%h\n');
    expect(config).toContain('    StrictHostKeyChecking yes\n    UserKnownHostsFile /home/user/.ssh/known_hosts\n');
    expect(config).toContain('    IdentityFile /home/user/qbuild/ssh/id_ed25519\n');
    expect(known).toMatch(/^yum\.qubes-os\.org ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/]+=*\n$/);
    // No other qube gets home files.
    expect(plan.vms.filter((v) => v.homeFiles).map((v) => v.name)).toEqual(['build-fedora', 'build-debian']);
  });

  it('Debian-based build templates get the Debian package names', () => {
    const plan = makePlan(parsePillar('build-infra:\n  build-template: debian-13-xfce\n  build-envs: {a: {logs: l}}\n', 'p.yml'));
    expect(plan.templates).toEqual([{
      name: 'debian-13-xfce', role: 'build',
      packages: ['rpm', 'createrepo-c', 'dpkg-dev', 'devscripts', 'apt-utils', 'rsync', 'openssh-client', 'git', 'gnupg'],
    }]);
  });

  it('gives each VM its role config', () => {
    const byName = Object.fromEntries(example().vms.map((v) => [v.name, v.config]));
    expect(byName['build-fedora']).toMatchObject({
      vm: 'build-fedora', role: 'build', env: 'fedora',
      build: {
        logsVm: 'logs', keysVm: 'keys-fedora', release: 'r4.3', dists: ['host-fc41', 'vm-fc42'],
        signKey: 'CD2EE445064D70E064CF01E59374892A378E57D5', repository: 'repository', sshProxyVm: 'sys-net',
        upload: { rpm: { host: 'yum.qubes-os.org', user: 'user', path: '/pub/qubes/repo/yum' } },
        commandsPublicKeys: null,
      },
    });
    const fedora = byName['build-fedora']!.build as Record<string, any>;
    expect(fedora.components.map((c: { name: string }) => c.name)).toEqual(['core-qrexec', 'linux-utils', 'app-linux-split-gpg']);
    expect(fedora.components[0]).toEqual({
      name: 'core-qrexec', url: 'https://github.com/QubesOS/qubes-core-qrexec', branch: 'main',
      recipes: [{ kind: 'command', argv: ['qb', '-c', 'core-qrexec', 'package', 'all'] }],
      maintainers: ['9395EB7275A9ABC9289EFAC3A780E77588F3D253'], minSignatures: 1, timeoutSeconds: 21600, outputCapBytes: 2 * 1024 ** 3,
    });
    expect(fedora.maintainerKeys).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(fedora.remoteHosts.map((h: { host: string; user: string }) => `${h.user}@${h.host}`)).toEqual(['user@yum.qubes-os.org']);
    expect((byName['build-debian']!.build as Record<string, any>).upload).toEqual({ deb: { host: 'yum.qubes-os.org', user: 'user', path: '/pub/qubes/repo/deb' } });
    expect(byName['keys-debian']).toEqual({
      vm: 'keys-debian', role: 'keys', env: 'debian',
      keys: { buildVm: 'build-debian', logsVm: 'logs', gate: 'ticket', logsPublicKey: null },
    });
    expect(byName.logs).toEqual({
      vm: 'logs', role: 'logs',
      logs: { buildVms: ['build-fedora', 'build-debian'], keysVmFor: { 'build-fedora': 'keys-fedora', 'build-debian': 'keys-debian' }, remote: null },
    });
    expect(byName['sys-net']).toEqual({
      vm: 'sys-net', role: 'sysnet',
      sysnet: { buildVms: ['build-fedora', 'build-debian'], listen: '0.0.0.0:80', secretFile: '/rw/config/qbuild/webhook-secret', sshHosts: ['github.com', 'yum.qubes-os.org'] },
    });
  });

  it('honours pillar templates, netvms and per-logs-VM settings', () => {
    const KEYB = generateNoteKey('qbuild-logs/logs-b').verifierKey;
    const plan = makePlan(parsePillar([
      'build-infra:',
      '  netvm: sys-net2',
      '  build-template: debian-13',
      '  build-netvm: sys-firewall',
      '  keys-template: debian-13-minimal',
      '  logs-template: debian-13',
      '  logs-netvm: sys-net2',
      '  build-envs: {a: {logs: logs-a}, b: {logs: logs-b, gate: window}}',
      `  logs-public-keys: {logs-b: "${KEYB}"}`,
      '  remote-hosts: {github.com: {ssh_user: git, ssh_host_enc: ssh-ed25519, ssh_host_key: AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl}}',
    ].join('\n'), 'p.yml'));
    expect(plan.vms.map((v) => `${v.name}:${v.template}:${v.netvm}`)).toEqual([
      'build-a:debian-13:sys-firewall', 'keys-a:debian-13-minimal:null', 'build-b:debian-13:sys-firewall',
      'keys-b:debian-13-minimal:null', 'logs-a:debian-13:sys-net2', 'logs-b:debian-13:sys-net2', 'sys-net2:null:null',
    ]);
    const keysB = plan.vms.find((v) => v.name === 'keys-b')!.config.keys;
    expect(keysB).toEqual({ buildVm: 'build-b', logsVm: 'logs-b', gate: 'window', logsPublicKey: KEYB });
    // github.com is always first and listed once.
    expect(plan.policy.text.split('\n').filter((l) => l.startsWith('local.ConnectSSH') && l.includes(' build-a ')))
      .toEqual(['local.ConnectSSH +github.com build-a sys-net2 allow']);
  });
});
