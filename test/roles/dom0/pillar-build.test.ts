import { oneLineErrorAsync } from '../../helpers/one-line-error.js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadPillar, parsePillar } from '../../../src/roles/dom0/pillar.js';
import { repoRoot } from '../../helpers/binary.js';
import { fixture, GpgHome } from '../../helpers/gpg.js';

/** The example's GnuPG-made keys (examples/keys/). */
const MAINT_KEY = readFileSync(join(repoRoot, 'examples/keys/maintainer.pub.asc'), 'utf8');
const MAINT = '9395EB7275A9ABC9289EFAC3A780E77588F3D253';
const SIGN = 'CD2EE445064D70E064CF01E59374892A378E57D5';
const HOST_KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

type Tree = Record<string, any>;
/** A small valid pillar with one env building one rpm component; `edit` changes it. */
const pillar = (edit: (bi: Tree) => void = () => {}): string => {
  const bi: Tree = {
    'build-envs': { fedora: { logs: 'logs', dists: ['vm-fc42'], 'sign-key': SIGN, components: ['c1'] } },
    components: { c1: { recipe: 'rpm', maintainers: [MAINT] } },
    'maintainer-keys': MAINT_KEY,
    'remote-hosts': { 'up.example.org': { ssh_user: 'up', ssh_host_enc: 'ssh-ed25519', ssh_host_key: HOST_KEY } },
  };
  edit(bi);
  return stringify({ 'build-infra': bi });
};
const env = (bi: Tree): Tree => bi['build-envs'].fedora;
const c1 = (bi: Tree): Tree => bi.components.c1;

const errorOf = (text: string): Promise<string> => oneLineErrorAsync('pillar', () => loadPillar(text, 'p.yml'), 'pillar');

describe('pillar build keys: good values', () => {
  it('fills the defaults, as upstream', async () => {
    const p = await loadPillar(pillar(), 'p.yml');
    expect(p.sourceUrlPrefix).toBe('https://github.com/QubesOS/qubes-');
    const keys = await (await import('openpgp')).readKeys({ armoredKeys: p.maintainerKeys! });
    expect(keys.map((k) => k.getFingerprint().toUpperCase())).toEqual([MAINT]);
    expect(p.components).toEqual([{
      name: 'c1', url: 'https://github.com/QubesOS/qubes-c1', branch: 'main', recipes: [{ kind: 'rpm' }],
      maintainers: [MAINT], minSignatures: 1, timeoutSeconds: 21600, outputCapBytes: 2 * 1024 ** 3,
    }]);
    const e = p.envs[0]!;
    expect([e.release, e.signKey, e.repository, e.upload]).toEqual(['r4.3', SIGN, 'repository', {}]);
    expect(e.dists).toEqual([{ name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' }]);
  });

  it('reads every key when given', async () => {
    const p = await loadPillar(pillar((bi) => {
      bi['source-url-prefix'] = 'http://127.0.0.1:8080/git/';
      bi.components = {
        c1: { recipe: 'rpm', spec: 'rpm_spec/c1.spec', branch: 'release4.3', maintainers: [MAINT.toLowerCase()], timeout: 60, 'output-cap': '512MiB' },
        c2: { recipe: 'deb', url: 'https://example.org/c2.git', maintainers: [MAINT], 'min-signatures': 1, 'output-cap': 5_000_000 },
        c3: { recipe: 'command', command: ['qb', '-c', 'c3', 'package', 'all'], maintainers: [MAINT], 'output-cap': '3GB' },
        both: { recipe: ['rpm', 'deb'], spec: 'x.spec', maintainers: [MAINT] },
        all: { recipe: ['deb', 'command', 'rpm'], command: ['make'], maintainers: [MAINT] },
        unused: { recipe: 'deb', maintainers: [MAINT] },
      };
      Object.assign(env(bi), {
        release: 'r4.2', dists: ['host-fc41', 'vm-fc42', 'vm-bookworm', 'vm-centos-stream9', 'vm-el9', 'vm-noble'],
        'sign-key': SIGN.toLowerCase(), repository: '/var/lib/qbuild/repo', components: ['c1', 'c2', 'c3'],
        upload: { rpm: { host: 'up.example.org', path: '/pub/yum' }, deb: { host: 'up.example.org', path: '/pub/deb' } },
      });
    }), 'p.yml');
    expect(p.components.map((c) => [c.name, c.url, c.branch, c.recipes, c.maintainers, c.timeoutSeconds, c.outputCapBytes])).toEqual([
      ['c1', 'http://127.0.0.1:8080/git/c1', 'release4.3', [{ kind: 'rpm', spec: 'rpm_spec/c1.spec' }], [MAINT], 60, 512 * 1024 ** 2],
      ['c2', 'https://example.org/c2.git', 'main', [{ kind: 'deb' }], [MAINT], 21600, 5_000_000],
      ['c3', 'http://127.0.0.1:8080/git/c3', 'main', [{ kind: 'command', argv: ['qb', '-c', 'c3', 'package', 'all'] }], [MAINT], 21600, 3e9],
      ['both', 'http://127.0.0.1:8080/git/both', 'main', [{ kind: 'rpm', spec: 'x.spec' }, { kind: 'deb' }], [MAINT], 21600, 2 * 1024 ** 3],
      ['all', 'http://127.0.0.1:8080/git/all', 'main', [{ kind: 'deb' }, { kind: 'command', argv: ['make'] }, { kind: 'rpm' }], [MAINT], 21600, 2 * 1024 ** 3],
      ['unused', 'http://127.0.0.1:8080/git/unused', 'main', [{ kind: 'deb' }], [MAINT], 21600, 2 * 1024 ** 3],
    ]);
    const e = p.envs[0]!;
    expect(e.dists.map((d) => `${d.set}:${d.dist}:${d.format}`)).toEqual([
      'host:fc41:rpm', 'vm:fc42:rpm', 'vm:bookworm:deb', 'vm:centos-stream9:rpm', 'vm:el9:rpm', 'vm:noble:deb',
    ]);
    expect([e.release, e.signKey, e.repository]).toEqual(['r4.2', SIGN, '/var/lib/qbuild/repo']);
    expect(e.upload).toEqual({ rpm: { host: 'up.example.org', path: '/pub/yum' }, deb: { host: 'up.example.org', path: '/pub/deb' } });
  });

  it('needs no build keys for an env that lists no components, and loads no keys then', async () => {
    const p = await loadPillar('build-infra:\n  build-envs: {a: {logs: l}}\n', 'p.yml');
    expect(p.components).toEqual([]);
    expect(p.maintainerKeys).toBeUndefined();
    expect(p.envs[0]!.signKey).toBeUndefined();
  });

  it('accepts RSA maintainer keys made by GnuPG next to Ed25519 ones', async () => {
    const rsa = fixture('gpg-rsa.pub.asc');
    const fpr = (await import('openpgp')).readKey({ armoredKey: rsa }).then((k) => k.getFingerprint().toUpperCase());
    const p = await loadPillar(pillar((bi) => {
      bi['maintainer-keys'] = MAINT_KEY + rsa;
      c1(bi).maintainers = [MAINT, 'placeholder'];
    }).replace('placeholder', await fpr), 'p.yml');
    expect(p.components[0]!.maintainers).toEqual([MAINT, await fpr]);
    // Both blocks become one, which a single readKeys reads whole (what the build qube does).
    expect(p.maintainerKeys!.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----/g)).toHaveLength(1);
    const keys = await (await import('openpgp')).readKeys({ armoredKeys: p.maintainerKeys! });
    expect(keys.map((k) => k.getFingerprint().toUpperCase())).toEqual([MAINT, await fpr]);
  });
});

describe('pillar build keys: bad values, one line naming the key', () => {
  const P = 'p.yml: build-infra';
  const C = `${P}:components:c1`;
  const E = `${P}:build-envs:fedora`;
  it.each<[string, (bi: Tree) => void, string]>([
    ['prefix not http(s)', (bi) => { bi['source-url-prefix'] = 'ftp://example.org/'; }, `${P}:source-url-prefix: must be an https:// or http:// URL`],
    ['components not a map', (bi) => { bi.components = ['c1']; }, `${P}:components: must be a mapping`],
    ['bad component name', (bi) => { bi.components = { 'a/b': { recipe: 'rpm', maintainers: [MAINT] } }; }, `${P}:components:a/b: must be 1-64 characters`],
    ['component named like the command log', (bi) => { bi.components = { commands: { recipe: 'rpm', maintainers: [MAINT] } }; }, `${P}:components:commands: is reserved: commands/ holds the build VM's command log`],
    ['unknown component key', (bi) => { c1(bi).colour = 'red'; }, `${C}:colour: unknown key`],
    ['url with ftp', (bi) => { c1(bi).url = 'ftp://example.org/c1'; }, `${C}:url: must be an https:// or http:// URL`],
    ['url with credentials', (bi) => { c1(bi).url = 'https://u:p@example.org/c1'; }, `${C}:url: must not contain credentials`],
    ['url not a URL', (bi) => { c1(bi).url = 'example.org/c1'; }, `${C}:url: not a URL`],
    ['branch with ..', (bi) => { c1(bi).branch = 'a..b'; }, `${C}:branch: "a..b": must not contain '..'`],
    ['branch like an option', (bi) => { c1(bi).branch = '-main'; }, `${C}:branch: "-main": must not start with '/' or '-'`],
    ['branch ending .lock', (bi) => { c1(bi).branch = 'x.lock'; }, `${C}:branch: "x.lock": no part may start with '.' or end with '.lock'`],
    ['branch with a space', (bi) => { c1(bi).branch = 'a b'; }, `${C}:branch: "a b": must be printable ASCII without spaces`],
    ['branch with ~', (bi) => { c1(bi).branch = 'a~1'; }, `${C}:branch: "a~1": must not contain ~`],
    ['branch not a string', (bi) => { c1(bi).branch = 4; }, `${C}:branch: must be a string`],
    ['recipe missing', (bi) => { delete c1(bi).recipe; }, `${C}:recipe: missing (one of rpm, deb, command, or a list of them)`],
    ['recipe unknown', (bi) => { c1(bi).recipe = 'make'; }, `${C}:recipe: "make": must be one of rpm, deb, command`],
    ['recipe list with an unknown', (bi) => { c1(bi).recipe = ['rpm', 'srpm']; }, `${C}:recipe: "srpm": must be one of rpm, deb, command`],
    ['recipe listed twice', (bi) => { c1(bi).recipe = ['rpm', 'rpm']; }, `${C}:recipe: "rpm" listed twice`],
    ['recipe list empty', (bi) => { c1(bi).recipe = []; }, `${C}:recipe: must name at least one recipe`],
    ['recipe a number', (bi) => { c1(bi).recipe = 1; }, `${C}:recipe: must be a list of strings`],
    ['spec for deb', (bi) => { Object.assign(c1(bi), { recipe: 'deb', spec: 'x.spec' }); env(bi).dists = ['vm-bookworm']; }, `${C}:spec: only for recipe rpm`],
    ['spec outside the checkout', (bi) => { c1(bi).spec = '../x.spec'; }, `${C}:spec: must not be absolute or contain empty, '.' or '..' parts`],
    ['spec absolute', (bi) => { c1(bi).spec = '/x.spec'; }, `${C}:spec: must not be absolute`],
    ['spec not a .spec', (bi) => { c1(bi).spec = 'rpm_spec/x.spec.in'; }, `${C}:spec: must name a .spec file`],
    ['command for rpm', (bi) => { c1(bi).command = ['make']; }, `${C}:command: only for recipe command`],
    ['command missing', (bi) => { c1(bi).recipe = 'command'; }, `${C}:command: missing: recipe command needs the command line`],
    ['command a string', (bi) => { Object.assign(c1(bi), { recipe: 'command', command: 'qb package' }); }, `${C}:command: must be a list of strings`],
    ['command empty', (bi) => { Object.assign(c1(bi), { recipe: 'command', command: [] }); }, `${C}:command: must be a list of 1-64 arguments`],
    ['command with a newline', (bi) => { Object.assign(c1(bi), { recipe: 'command', command: ['a\nb'] }); }, `${C}:command: each argument must be 1-4096 characters`],
    ['maintainers missing', (bi) => { delete c1(bi).maintainers; }, `${C}:maintainers: missing`],
    ['maintainers empty', (bi) => { c1(bi).maintainers = []; }, `${C}:maintainers: must list at least one fingerprint`],
    ['maintainer a key ID', (bi) => { c1(bi).maintainers = ['A780E77588F3D253']; }, `${C}:maintainers: "A780E77588F3D253": must be a 40-hex-digit OpenPGP fingerprint`],
    ['maintainer twice', (bi) => { c1(bi).maintainers = [MAINT, MAINT.toLowerCase()]; }, `${C}:maintainers: ${MAINT} listed twice`],
    ['min-signatures 0', (bi) => { c1(bi)['min-signatures'] = 0; }, `${C}:min-signatures: must be a whole number from 1 to 1`],
    ['min-signatures above the maintainers', (bi) => { c1(bi)['min-signatures'] = 2; }, `${C}:min-signatures: must be a whole number from 1 to 1`],
    ['min-signatures a string', (bi) => { c1(bi)['min-signatures'] = '1'; }, `${C}:min-signatures: must be a whole number`],
    ['timeout 0', (bi) => { c1(bi).timeout = 0; }, `${C}:timeout: must be a whole number from 1 to 604800`],
    ['timeout fractional', (bi) => { c1(bi).timeout = 1.5; }, `${C}:timeout: must be a whole number`],
    ['timeout above a week', (bi) => { c1(bi).timeout = 604801; }, `${C}:timeout: must be a whole number from 1 to 604800`],
    ['output-cap unit', (bi) => { c1(bi)['output-cap'] = '2XB'; }, `${C}:output-cap: must be a size like 2GiB`],
    ['output-cap tiny', (bi) => { c1(bi)['output-cap'] = 100; }, `${C}:output-cap: must be from 1MiB to 1TiB`],
    ['output-cap huge', (bi) => { c1(bi)['output-cap'] = '2TiB'; }, `${C}:output-cap: must be from 1MiB to 1TiB`],
    ['output-cap negative', (bi) => { c1(bi)['output-cap'] = -5; }, `${C}:output-cap: must be a positive whole number of bytes`],
    ['release', (bi) => { env(bi).release = '4.3'; }, `${E}:release: must look like r4.3`],
    ['dists not a list', (bi) => { env(bi).dists = 'vm-fc42'; }, `${E}:dists: must be a list of strings`],
    ['dist without set', (bi) => { env(bi).dists = ['fc42']; }, `${E}:dists: "fc42": must be host-<dist> or vm-<dist>`],
    ['dist unknown', (bi) => { env(bi).dists = ['vm-fc']; }, `${E}:dists: "vm-fc": unknown distribution`],
    ['dist deb for dom0', (bi) => { env(bi).dists = ['vm-fc42', 'host-bookworm']; }, `${E}:dists: "host-bookworm": dom0 (host) packages are rpm only`],
    ['dist twice', (bi) => { env(bi).dists = ['vm-fc42', 'vm-fc42']; }, `${E}:dists: "vm-fc42" listed twice`],
    ['dists missing', (bi) => { delete env(bi).dists; }, `${E}:dists: missing: an env that lists components must name its dists`],
    ['sign-key missing', (bi) => { delete env(bi)['sign-key']; }, `${E}:sign-key: missing: an env that lists components`],
    ['sign-key short', (bi) => { env(bi)['sign-key'] = '378E57D5'; }, `${E}:sign-key: "378E57D5": must be a 40-hex-digit OpenPGP fingerprint`],
    ['repository escapes', (bi) => { env(bi).repository = '../repo'; }, `${E}:repository: must not be absolute or contain empty, '.' or '..' parts`],
    ['repository absolute with ..', (bi) => { env(bi).repository = '/a/../b'; }, `${E}:repository: must not contain '.' or '..' parts`],
    ['repository with a space', (bi) => { env(bi).repository = 'my repo'; }, `${E}:repository: must be a relative path`],
    ['upload format unknown', (bi) => { env(bi).upload = { iso: { host: 'up.example.org', path: '/x' } }; }, `${E}:upload:iso: unknown key`],
    ['upload host not a remote host', (bi) => { env(bi).upload = { rpm: { host: 'other.example.org', path: '/x' } }; },
      `${E}:upload:rpm:host: "other.example.org" is not a build-infra:remote-hosts entry`],
    ['upload path relative', (bi) => { env(bi).upload = { rpm: { host: 'up.example.org', path: 'pub' } }; }, `${E}:upload:rpm:path: must be an absolute path`],
    ['upload path missing', (bi) => { env(bi).upload = { rpm: { host: 'up.example.org' } }; }, `${E}:upload:rpm:path: missing`],
    ['upload unknown key', (bi) => { env(bi).upload = { rpm: { host: 'up.example.org', path: '/x', user: 'root' } }; }, `${E}:upload:rpm:user: unknown key`],
    ['upload for a format the env lacks', (bi) => { env(bi).upload = { deb: { host: 'up.example.org', path: '/x' } }; }, `${E}:upload:deb: the env has no deb dist`],
    ['component without settings', (bi) => { env(bi).components = ['c1', 'c9']; }, `${E}:components: "c9" has no settings under build-infra:components`],
    ['recipe matching no dist', (bi) => { c1(bi).recipe = 'deb'; }, `${E}:components: "c1" (recipe deb) matches none of the env's dists`],
    ['maintainer-keys missing', (bi) => { delete bi['maintainer-keys']; }, `${P}:maintainer-keys: missing: components name maintainers`],
    ['maintainer-keys not armored', (bi) => { bi['maintainer-keys'] = 'mDMEaw9WIBYJKwYBBAHaRw8BAQdA'; }, `${P}:maintainer-keys: must be armored OpenPGP public keys`],
    ['maintainer-keys not a string', (bi) => { bi['maintainer-keys'] = [MAINT_KEY]; }, `${P}:maintainer-keys: must be a string`],
    ['maintainer-keys truncated', (bi) => { bi['maintainer-keys'] = MAINT_KEY.split('\n').filter((_, i) => i < 3 || i > 5).join('\n'); },
      `${P}:maintainer-keys: block 1 is not readable as armored OpenPGP keys`],
    ['text around the keys', (bi) => { bi['maintainer-keys'] = `Maintainer: me\n${MAINT_KEY}`; }, `${P}:maintainer-keys: holds text outside its armored key blocks`],
    ['maintainer not among the keys', (bi) => { c1(bi).maintainers = ['0'.repeat(40)]; },
      `${C}:maintainers: ${'0'.repeat(40)} is not the fingerprint of a key in build-infra:maintainer-keys`],
    ['signing key named as a maintainer', (bi) => { c1(bi).maintainers = [SIGN]; }, `${C}:maintainers: ${SIGN} is not the fingerprint of a key`],
  ])('refuses %s', async (_what, edit, message) => {
    expect(await errorOf(pillar(edit))).toContain(message);
  });

  it('refuses a secret key among the maintainer keys', async () => {
    const msg = await errorOf(pillar((bi) => { bi['maintainer-keys'] = `${MAINT_KEY}\n${fixture('gpg-ed25519.sec.asc')}`; }));
    expect(msg).toMatch(/^p\.yml: build-infra:maintainer-keys: [0-9A-F]{40} is a secret key: give public keys only$/);
  });

  it('refuses a v6 maintainer key (GnuPG 2.2 cannot read it)', async () => {
    const openpgp = await import('openpgp');
    const { publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'v6' }], format: 'armored', config: { v6Keys: true } });
    const fpr = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
    const msg = await errorOf(pillar((bi) => { bi['maintainer-keys'] = publicKey; c1(bi).maintainers = [fpr.slice(0, 40)]; }));
    expect(msg).toContain(`${P}:maintainer-keys: ${fpr} is a v6 key: GnuPG 2.2 cannot read it`);
  });

  it('parsePillar alone (no openpgp) leaves the key contents to loadPillar', () => {
    expect(() => parsePillar(pillar((bi) => { c1(bi).maintainers = ['0'.repeat(40)]; }), 'p.yml')).not.toThrow();
  });
});

describe('pillar build keys: maintainer keys that cannot verify (made by GnuPG)', () => {
  let gpg: GpgHome;
  const made: Record<string, { fpr: string; key: string }> = {};
  beforeAll(() => {
    gpg = new GpgHome();
    const make = (name: string, args: string[], faked?: string) => {
      const uid = `${name} <${name}@example.org>`;
      gpg.gpgSync([...(faked ? ['--faked-system-time', faked] : []), '--quick-gen-key', uid, ...args]);
      const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg.gpgSync(['--with-colons', '--list-keys', uid]))![1]!;
      made[name] = { fpr, key: '' };
    };
    make('certonly', ['ed25519', 'cert', 'never']);
    make('expired', ['ed25519', 'sign', '1d'], '20200101T000000');
    make('revoked', ['ed25519', 'sign', 'never']);
    // Revoke with the certificate GnuPG stored when it made the key (its lines start with ':').
    const rev = readFileSync(join(gpg.dir, 'openpgp-revocs.d', `${made.revoked!.fpr}.rev`), 'utf8').replace(/^:/m, '');
    execFileSync('gpg', ['--homedir', gpg.dir, '--batch', '--import'], { input: rev, stdio: ['pipe', 'ignore', 'ignore'] });
    for (const name of Object.keys(made)) made[name]!.key = gpg.gpgSync(['--armor', '--export', made[name]!.fpr]);
  });
  afterAll(() => gpg.cleanup());

  it.each([['certonly'], ['expired'], ['revoked']])('refuses a %s key', async (name) => {
    const { fpr, key } = made[name]!;
    const msg = await errorOf(pillar((bi) => { bi['maintainer-keys'] = key; c1(bi).maintainers = [fpr]; }));
    expect(msg).toContain(`p.yml: build-infra:components:c1:maintainers: key ${fpr} cannot verify signatures: `);
  });
});
