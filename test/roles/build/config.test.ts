import { oneLineError } from '../../helpers/one-line-error.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseBuildConfig, type VmConfig } from '../../../src/roles/build/config.js';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { loadPillar } from '../../../src/roles/dom0/pillar.js';
import { repoRoot } from '../../helpers/binary.js';

const MAINT = '9395EB7275A9ABC9289EFAC3A780E77588F3D253';
const SIGN = 'CD2EE445064D70E064CF01E59374892A378E57D5';

/** The build qubes' configs exactly as provision writes them for the example pillar. */
let configs: Record<string, VmConfig>;
beforeAll(async () => {
  const plan = makePlan(await loadPillar(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8'), 'pillar.yml'));
  configs = Object.fromEntries(plan.vms.filter((v) => v.role === 'build').map((v) => [v.name, JSON.parse(JSON.stringify(v.config))]));
});
const fedora = (): VmConfig & { build: Record<string, any> } => structuredClone(configs['build-fedora']!) as VmConfig & { build: Record<string, any> };

const errorOf = (config: VmConfig): string => oneLineError('config', () => parseBuildConfig(config, '/home/user/qbuild'), 'config');

describe('parseBuildConfig', () => {
  it('reads what provision writes for the example pillar', () => {
    const c = parseBuildConfig(fedora(), '/home/user/qbuild');
    expect(c).toMatchObject({
      vm: 'build-fedora', env: 'fedora', logsVm: 'logs', keysVm: 'keys-fedora', release: 'r4.3',
      signKey: SIGN, repositoryRoot: '/home/user/qbuild/repository', sshProxyVm: 'sys-net', commandsPublicKeys: null,
      upload: { rpm: { host: 'yum.qubes-os.org', user: 'user', path: '/pub/qubes/repo/yum' } },
    });
    expect(c.dists).toEqual([
      { name: 'host-fc41', set: 'host', dist: 'fc41', format: 'rpm' },
      { name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' },
    ]);
    expect(c.components).toEqual([
      {
        name: 'core-qrexec', url: 'https://github.com/QubesOS/qubes-core-qrexec', branch: 'main',
        recipes: [{ kind: 'command', argv: ['qb', '-c', 'core-qrexec', 'package', 'all'] }],
        maintainers: [MAINT], minSignatures: 1, timeoutSeconds: 21600, outputCapBytes: 2 * 1024 ** 3,
      },
      expect.objectContaining({ name: 'linux-utils', url: 'https://github.com/QubesOS/qubes-linux-utils', recipes: [{ kind: 'rpm' }, { kind: 'deb' }] }),
      expect.objectContaining({ name: 'app-linux-split-gpg', recipes: [{ kind: 'rpm', spec: 'rpm_spec/gpg-split.spec' }] }),
    ]);
    expect(c.maintainerKeys).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
    expect(c.remoteHosts).toEqual([expect.objectContaining({ host: 'yum.qubes-os.org', user: 'user', keyType: 'ssh-rsa' })]);

    const d = parseBuildConfig(configs['build-debian']!, '/s');
    expect(d.dists.map((x) => `${x.name}:${x.format}`)).toEqual(['vm-bookworm:deb', 'vm-trixie:deb']);
    expect(d.upload).toEqual({ deb: { host: 'yum.qubes-os.org', user: 'user', path: '/pub/qubes/repo/deb' } });
  });

  it('keeps an absolute repository; an env building nothing needs no keys', () => {
    const c = fedora();
    Object.assign(c.build, { repository: '/srv/repo', components: [], maintainerKeys: null, signKey: null, dists: [] });
    const parsed = parseBuildConfig(c, '/home/user/qbuild');
    expect([parsed.repositoryRoot, parsed.signKey, parsed.maintainerKeys, parsed.components]).toEqual(['/srv/repo', '', '', []]);
  });

  const comp = (c: { build: Record<string, any> }) => c.build.components[0] as Record<string, any>;
  it.each<[string, (c: VmConfig & { build: Record<string, any> }) => void, string]>([
    ['no build section', (c) => { delete (c as Record<string, unknown>).build; }, 'qbuild.json: build: missing'],
    ['section not an object', (c) => { (c as Record<string, unknown>).build = []; }, 'qbuild.json: build: must be an object'],
    ['unknown key', (c) => { c.build.colour = 'red'; }, 'qbuild.json: build.colour: unknown key'],
    ['missing key', (c) => { delete c.build.release; }, 'qbuild.json: build.release: missing'],
    ['bad VM name', (c) => { c.vm = '-x'; }, 'qbuild.json: vm: invalid VM name'],
    ['bad env', (c) => { c.env = 'Fedora'; }, 'qbuild.json: env: must be 1-25 characters'],
    ['bad logs VM', (c) => { c.build.logsVm = 'a b'; }, 'qbuild.json: build.logsVm: invalid VM name'],
    ['bad release', (c) => { c.build.release = '4.3'; }, 'qbuild.json: build.release: must look like r4.3'],
    ['dists not a list', (c) => { c.build.dists = 'vm-fc42'; }, 'qbuild.json: build.dists: must be a list'],
    ['bad dist', (c) => { c.build.dists = ['vm-fc42', 'vm-win10']; }, 'qbuild.json: build.dists[1]: "vm-win10": unknown distribution'],
    ['dist twice', (c) => { c.build.dists = ['vm-fc42', 'vm-fc42']; }, 'qbuild.json: build.dists: lists a dist twice'],
    ['component unknown key', (c) => { comp(c).extra = 1; }, 'qbuild.json: build.components[0].extra: unknown key'],
    ['component key missing', (c) => { delete comp(c).branch; }, 'qbuild.json: build.components[0].branch: missing'],
    ['component name', (c) => { comp(c).name = '../x'; }, 'qbuild.json: build.components[0].name: invalid component name'],
    ['component named like the command log', (c) => { comp(c).name = 'commands'; }, "qbuild.json: build.components[0].name: is reserved: commands/ holds the build VM's command log"],
    ['component twice', (c) => { c.build.components.push(structuredClone(comp(c))); }, 'qbuild.json: build.components: "core-qrexec" listed twice'],
    ['url scheme', (c) => { comp(c).url = 'file:///etc'; }, 'qbuild.json: build.components.core-qrexec.url: must be an https:// or http:// URL'],
    ['branch', (c) => { comp(c).branch = 'a..b'; }, "qbuild.json: build.components.core-qrexec.branch: \"a..b\": must not contain '..'"],
    ['recipe kind', (c) => { comp(c).recipes = [{ kind: 'make' }]; }, 'qbuild.json: build.components.core-qrexec.recipes[0].kind: must be "rpm", "deb" or "command"'],
    ['recipe extra key', (c) => { comp(c).recipes = [{ kind: 'deb', spec: 'x.spec' }]; }, 'qbuild.json: build.components.core-qrexec.recipes[0].spec: unknown key'],
    ['spec escapes', (c) => { comp(c).recipes = [{ kind: 'rpm', spec: '../../x.spec' }]; }, 'qbuild.json: build.components.core-qrexec.recipes[0].spec: must not be absolute'],
    ['argv empty', (c) => { comp(c).recipes = [{ kind: 'command', argv: [] }]; }, 'qbuild.json: build.components.core-qrexec.recipes[0].argv: must be a list of 1-64 arguments'],
    ['argv not strings', (c) => { comp(c).recipes = [{ kind: 'command', argv: ['qb', 3] }]; }, 'qbuild.json: build.components.core-qrexec.recipes[0].argv[1]: must be a string'],
    ['maintainer', (c) => { comp(c).maintainers = ['XYZ']; }, 'qbuild.json: build.components.core-qrexec.maintainers[0]: "XYZ": must be a 40-hex-digit OpenPGP fingerprint'],
    ['no maintainers', (c) => { comp(c).maintainers = []; }, 'qbuild.json: build.components.core-qrexec.maintainers: must list at least one fingerprint'],
    ['maintainer twice', (c) => { comp(c).maintainers = [MAINT, MAINT]; }, 'qbuild.json: build.components.core-qrexec.maintainers: lists a fingerprint twice'],
    ['minSignatures too many', (c) => { comp(c).minSignatures = 2; }, 'qbuild.json: build.components.core-qrexec.minSignatures: must be a whole number from 1 to 1'],
    ['timeout a string', (c) => { comp(c).timeoutSeconds = '60'; }, 'qbuild.json: build.components.core-qrexec.timeoutSeconds: must be a whole number'],
    ['output cap tiny', (c) => { comp(c).outputCapBytes = 10; }, 'qbuild.json: build.components.core-qrexec.outputCapBytes: must be a size in bytes from 1048576'],
    ['recipe for no dist', (c) => { comp(c).recipes = [{ kind: 'deb' }]; }, 'qbuild.json: build.components.core-qrexec.recipes: deb builds for none of the dists'],
    ['no recipes', (c) => { comp(c).recipes = []; }, 'qbuild.json: build.components.core-qrexec.recipes: must list at least one recipe'],
    ['recipe kind twice', (c) => { comp(c).recipes = [{ kind: 'deb' }, { kind: 'deb' }]; }, 'qbuild.json: build.components.core-qrexec.recipes: lists a kind twice'],
    ['no maintainer keys', (c) => { c.build.maintainerKeys = null; }, 'qbuild.json: build.maintainerKeys: must be armored public keys when components are listed'],
    ['no sign key', (c) => { c.build.signKey = null; }, 'qbuild.json: build.signKey: missing: components are listed'],
    ['bad sign key', (c) => { c.build.signKey = 'ABCD'; }, 'qbuild.json: build.signKey: "ABCD": must be a 40-hex-digit OpenPGP fingerprint'],
    ['repository escapes', (c) => { c.build.repository = 'a/../../b'; }, "qbuild.json: build.repository: must not be absolute or contain empty, '.' or '..' parts"],
    ['upload host unknown', (c) => { c.build.upload.rpm.host = 'evil.example.org'; }, 'qbuild.json: build.upload.rpm.host: "evil.example.org" is not in remoteHosts'],
    ['upload user differs', (c) => { c.build.upload.rpm.user = 'root'; }, 'qbuild.json: build.upload.rpm.user: "root" is not the user remoteHosts names for yum.qubes-os.org'],
    ['upload path relative', (c) => { c.build.upload.rpm.path = 'pub'; }, 'qbuild.json: build.upload.rpm.path: must be an absolute path'],
    ['upload format', (c) => { c.build.upload.iso = {}; }, 'qbuild.json: build.upload.iso: unknown key'],
    ['remote host name', (c) => { c.build.remoteHosts[0].host = 'Yum.example.org'; }, 'qbuild.json: build.remoteHosts[0].host: invalid ssh host "Yum.example.org"'],
    ['remote host key', (c) => { c.build.remoteHosts[0].key = 'AAAA'; }, 'qbuild.json: build.remoteHosts[0].key: invalid ssh host key'],
    ['remote host twice', (c) => { c.build.remoteHosts.push(structuredClone(c.build.remoteHosts[0])); }, 'qbuild.json: build.remoteHosts: lists a host twice'],
    ['commands keys a number', (c) => { c.build.commandsPublicKeys = 5; }, 'qbuild.json: build.commandsPublicKeys: must be a non-empty string'],
  ])('refuses %s', (_what, edit, message) => {
    const c = fedora();
    edit(c);
    expect(errorOf(c)).toContain(message);
  });
});
