import { oneLineError } from '../../helpers/one-line-error.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { repoRoot } from '../../helpers/binary.js';

const errorOf = (text: string): string => oneLineError('pillar', () => parsePillar(text, 'p.yml'), 'pillar');

const LOGS_KEY = generateNoteKey('qbuild-logs/logs-a').verifierKey;
const env = (body: string) => `build-infra:\n  build-envs:\n    fedora:\n${body}`;

describe('parsePillar', () => {
  it('reads the example with upstream defaults', () => {
    const p = parsePillar(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8'), 'pillar.yml');
    expect(p).toMatchObject({
      netvm: 'sys-net', buildTemplate: 'fedora-43-xfce', buildNetvm: 'sys-whonix',
      keysTemplate: 'fedora-43-minimal', logsTemplate: 'fedora-43-xfce', logsNetvm: 'sys-firewall',
    });
    expect(p.envs.map((e) => [e.name, e.logs, e.gate, e.volumeSize])).toEqual([
      ['fedora', 'logs', 'ticket', '20GiB'], ['debian', 'logs', 'ticket', undefined],
    ]);
    expect(p.remoteHosts.map((h) => h.host)).toEqual(['yum.qubes-os.org']);
  });

  it('accepts upstream-only keys it lists, and ignores them', () => {
    const p = parsePillar([
      'build-infra:',
      '  github_api_key: secret',
      '  logs_repo: QubesOS/build-logs',
      '  build-envs:',
      '    fedora2:',
      '      builderv2: True',
      '      windows: true',
      '      builders-list:',
      '        /home/user/builder-r4.2: {release: 4.2}',
      '      volume-size: 20GiB',
      '      logs: logs',
    ].join('\n'), 'p.yml');
    expect(p.envs[0]).toEqual({
      name: 'fedora2', logs: 'logs', volumeSize: '20GiB', components: [], gate: 'ticket',
      release: 'r4.3', dists: [], repository: 'repository', upload: {},
    });
  });

  it('reads the qbuild keys', () => {
    const p = parsePillar([
      'build-infra:',
      '  build-envs: {a: {logs: logs-a, gate: window}}',
      `  logs-public-keys: {logs-a: "${LOGS_KEY}"}`,
      '  logs-remote: {logs-a: {url: "https://example.org/logs.git", token-file: /rw/config/token}}',
      '  webhook: {listen: "127.0.0.1:8080"}',
    ].join('\n'), 'p.yml');
    expect(p.envs[0]!.gate).toBe('window');
    expect(p.logsPublicKeys).toEqual({ 'logs-a': LOGS_KEY });
    expect(p.logsRemotes).toEqual({ 'logs-a': { url: 'https://example.org/logs.git', tokenFile: '/rw/config/token' } });
    expect(p.webhook).toEqual({ listen: '127.0.0.1:8080', secretFile: '/rw/config/qbuild/webhook-secret' });
  });

  it.each([
    ['unknown env key', env('      logs: logs\n      colour: red\n'), 'p.yml: build-infra:build-envs:fedora:colour: unknown key'],
    ['unknown top key', 'build-infra:\n  build-envs: {a: {logs: l}}\n  bogus: 1\n', 'build-infra:bogus: unknown key'],
    ['unknown root key', 'other: 1\n', '(top level):other: unknown key'],
    ['unknown host key', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {h.example: {ssh_user: u, ssh_host_enc: ssh-rsa, ssh_host_key: AAAAAAAAAAAAAAAAAAAA, port: 2}}\n',
      'build-infra:remote-hosts:h.example:port: unknown key'],
    ['missing logs', env('      volume-size: 20GiB\n'), 'build-infra:build-envs:fedora:logs: missing: build environment "fedora" must name its logs VM'],
    ['env without body', env(''), 'build-infra:build-envs:fedora:logs: missing'],
    ['bad env name', 'build-infra:\n  build-envs:\n    Fedora: {logs: logs}\n', 'build-infra:build-envs:Fedora: allowed characters are a-z 0-9 _ -'],
    ['too long env', 'build-infra:\n  build-envs:\n    abcdefghijklmnopqrstuvwxyz: {logs: logs}\n', 'longer than 25 characters'],
    ['bad logs VM name', env('      logs: 1logs\n'), 'build-infra:build-envs:fedora:logs: invalid VM name "1logs"'],
    ['dotted logs VM', env('      logs: logs.x\n'), "build-infra:build-envs:fedora:logs: contains '.'"],
    ['logs VM clash', env('      logs: keys-fedora\n'), '"keys-fedora" is also a build or keys VM'],
    ['logs VM is a netvm', env('      logs: sys-firewall\n'), 'is also named by build-infra:logs-netvm'],
    ['bad template', 'build-infra:\n  build-template: "x y"\n  build-envs: {a: {logs: l}}\n', 'build-infra:build-template: invalid VM name'],
    ['bad component', env('      logs: logs\n      components: [ok, "../x"]\n'), 'build-infra:build-envs:fedora:components: "../x": must be 1-64'],
    ['duplicate component', env('      logs: logs\n      components: [a, a]\n'), '"a" listed twice'],
    ['components not a list', env('      logs: logs\n      components: core-qrexec\n'), 'build-infra:build-envs:fedora:components: must be a list of strings'],
    ['logs not a string', env('      logs: [a]\n'), 'build-infra:build-envs:fedora:logs: must be a string'],
    ['envs not a map', 'build-infra:\n  build-envs: [a]\n', 'build-infra:build-envs: must be a mapping'],
    ['no envs', 'build-infra:\n  build-envs: {}\n', 'build-infra:build-envs: empty'],
    ['empty file', '', 'build-infra: missing'],
    ['bad gate', env('      logs: logs\n      gate: none\n'), 'gate: must be "ticket" or "window"'],
    ['bad volume size', env('      logs: logs\n      volume-size: "20G; rm -rf /"\n'), 'volume-size: must be a size like 20GiB'],
    ['bad host', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {"-bad.example": {ssh_user: u, ssh_host_enc: ssh-rsa, ssh_host_key: AAAAAAAAAAAAAAAAAAAA}}\n',
      'build-infra:remote-hosts:-bad.example: invalid ssh host "-bad.example": not a lower-case DNS host name'],
    ['bad ssh user', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {h.example: {ssh_user: "u -oProxyCommand=x", ssh_host_enc: ssh-rsa, ssh_host_key: AAAAAAAAAAAAAAAAAAAA}}\n',
      'build-infra:remote-hosts:h.example:ssh_user: invalid ssh user "u -oProxyCommand=x": not a valid user name'],
    ['upper-case host', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {"H.example": {ssh_user: u, ssh_host_enc: ssh-rsa, ssh_host_key: AAAAAAAAAAAAAAAAAAAA}}\n',
      'build-infra:remote-hosts:H.example: invalid ssh host "H.example": not a lower-case DNS host name'],
    ['host key of another type', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {h.example: {ssh_user: u, ssh_host_enc: ssh-rsa, ssh_host_key: AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl}}\n',
      'build-infra:remote-hosts:h.example:ssh_host_key: invalid ssh host key "AAAAC3Nz'],
    ['bad host key type', 'build-infra:\n  build-envs: {a: {logs: l}}\n  remote-hosts: {h.example: {ssh_user: u, ssh_host_enc: dsa, ssh_host_key: AAAAAAAAAAAAAAAAAAAA}}\n',
      'ssh_host_enc: invalid ssh host key type "dsa": must be one of'],
    ['public key for unknown logs VM', 'build-infra:\n  build-envs: {a: {logs: l}}\n  logs-public-keys: {other: k}\n',
      'build-infra:logs-public-keys:other: "other" is not the logs VM of any build environment'],
    ['remote with credentials', 'build-infra:\n  build-envs: {a: {logs: l}}\n  logs-remote: {l: {url: "https://u:p@h/x.git"}}\n',
      'must not contain credentials'],
    ['bad listen', 'build-infra:\n  build-envs: {a: {logs: l}}\n  webhook: {listen: "0.0.0.0:99999"}\n', 'port 99999 is above 65535'],
    ['listen on port 0', 'build-infra:\n  build-envs: {a: {logs: l}}\n  webhook: {listen: "0.0.0.0:0"}\n', 'port must be 1-65535'],
    ['listen on a name', 'build-infra:\n  build-envs: {a: {logs: l}}\n  webhook: {listen: "localhost:8080"}\n', 'must name an IP address'],
    ['duplicate key', env('      logs: logs\n      logs: other\n'), 'p.yml: line 5: duplicate key "logs"'],
    ['not YAML', 'build-infra: [\n', 'p.yml: line 2: not valid YAML'],
    ['alias', 'build-infra:\n  build-envs: {a: &x {logs: l}, b: *x}\n', 'YAML aliases (*name) are not allowed'],
  ])('refuses %s', (_what, text, message) => {
    expect(errorOf(text)).toContain(message);
  });
});
