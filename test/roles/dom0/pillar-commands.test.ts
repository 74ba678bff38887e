import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildVmConfig } from '../../../src/roles/dom0/config/build.js';
import { loadPillar } from '../../../src/roles/dom0/pillar.js';
import { repoRoot } from '../../helpers/binary.js';
import { GpgHome } from '../../helpers/gpg.js';
import { oneLineErrorAsync } from '../../helpers/one-line-error.js';

const MAINT_KEY = readFileSync(join(repoRoot, 'examples/keys/maintainer.pub.asc'), 'utf8');
const MAINT = '9395EB7275A9ABC9289EFAC3A780E77588F3D253';
const P = 'build-infra';

let gpg: GpgHome;
let fpr: string;
let pub: string;
beforeAll(() => {
  gpg = new GpgHome();
  fpr = gpg.generateKey('release manager <rm@example.invalid>');
  pub = gpg.gpgSync(['--armor', '--export', fpr]);
});
afterAll(() => gpg.cleanup());

type Tree = Record<string, any>;
const pillar = (edit: (bi: Tree) => void = () => {}): string => {
  const bi: Tree = {
    'build-envs': { fedora: { logs: 'logs', dists: ['vm-fc42', 'host-fc41'] } },
    commands_public_keys: pub,
    'command-maintainers': { [fpr.toLowerCase()]: { components: ['core-qrexec'], distributions: '_all_', templates: ['fedora-42'], iso: true } },
  };
  edit(bi);
  return stringify({ 'build-infra': bi });
};
const errorOf = (text: string): Promise<string> => oneLineErrorAsync('pillar', () => loadPillar(text, 'p.yml'), 'pillar');

describe('pillar command keys and command-maintainers', () => {
  it('checks the keys, upper-cases fingerprints, and provisions both into the build qube', async () => {
    const p = await loadPillar(pillar(), 'p.yml');
    expect(p.commandMaintainers).toEqual({ maintainers: { [fpr]: { components: ['core-qrexec'], distributions: '_all_', templates: ['fedora-42'], iso: true } } });
    const vm = buildVmConfig(p, p.envs[0]!);
    expect(vm.commands).toEqual(p.commandMaintainers);
    const keys = await (await import('openpgp')).readKeys({ armoredKeys: (vm.build as Tree).commandsPublicKeys });
    expect(keys.map((k) => k.getFingerprint().toUpperCase())).toEqual([fpr]);
  });

  it('grants nothing for absent fields, and nothing at all without the key', async () => {
    const p = await loadPillar(pillar((bi) => { bi['command-maintainers'] = { [fpr]: {} }; }), 'p.yml');
    expect(p.commandMaintainers.maintainers[fpr]).toEqual({ components: [], distributions: [], templates: [], iso: false });
    const none = await loadPillar(pillar((bi) => { delete bi['command-maintainers']; delete bi.commands_public_keys; }), 'p.yml');
    expect(buildVmConfig(none, none.envs[0]!).commands).toEqual({ maintainers: {} });
  });

  it.each<[string, (bi: Tree) => void, string]>([
    ['a maintainer without keys', (bi) => { delete bi.commands_public_keys; }, `${P}:commands_public_keys: missing: ${P}:command-maintainers names signers`],
    ['a fingerprint not among the keys', (bi) => { bi['command-maintainers'] = { [MAINT]: { iso: true } }; }, `${P}:command-maintainers:${MAINT}: ${MAINT} is not the fingerprint of a key`],
    ['text around the keys', (bi) => { bi.commands_public_keys = `hello\n${pub}`; }, `${P}:commands_public_keys: must be armored OpenPGP public key blocks`],
    ['a secret key', (bi) => { bi.commands_public_keys = gpg.gpgSync(['--armor', '--export-secret-keys', fpr]); }, 'is a secret key'],
    ['a bad fingerprint', (bi) => { bi['command-maintainers'] = { ABC: {} }; }, `${P}:command-maintainers:ABC:`],
    ['an unknown grant', (bi) => { bi['command-maintainers'][fpr.toLowerCase()].builds = '_all_'; }, 'builds: unknown key'],
    ['iso not a boolean', (bi) => { bi['command-maintainers'][fpr.toLowerCase()].iso = 'yes'; }, 'iso: must be true or false'],
    ['a bad dist', (bi) => { bi['command-maintainers'][fpr.toLowerCase()].distributions = ['fc42']; }, 'distributions: "fc42": not a dist name'],
    ['a repeated component', (bi) => { bi['command-maintainers'][fpr.toLowerCase()].components = ['a', 'a']; }, 'components: "a" listed twice'],
  ])('refuses %s', async (_what, edit, why) => {
    expect(await errorOf(pillar(edit))).toContain(why);
  });

  it('still takes the maintainer-keys example key as a command key', async () => {
    const p = await loadPillar(pillar((bi) => { bi.commands_public_keys = `${pub}\n${MAINT_KEY}`; bi['command-maintainers'][MAINT] = { iso: true }; }), 'p.yml');
    expect(Object.keys(p.commandMaintainers.maintainers).sort()).toEqual([fpr, MAINT].sort());
  });
});
