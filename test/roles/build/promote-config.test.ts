import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseBuildConfig, type VmConfig } from '../../../src/roles/build/config.js';
import { DEFAULT_MIN_AGE_DAYS } from '../../../src/roles/build/promote/upload-component.js';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { loadPillar } from '../../../src/roles/dom0/pillar.js';
import { repoRoot } from '../../helpers/binary.js';
import { oneLineError } from '../../helpers/one-line-error.js';

/** The example pillar with `edit` applied to env fedora, provisioned, read back by the build qube. */
async function fedoraConfig(edit: (env: Record<string, unknown>) => void): Promise<VmConfig & { build: Record<string, unknown> }> {
  const pillar = YAML.parse(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8')) as { 'build-infra': { 'build-envs': Record<string, Record<string, unknown>> } };
  edit(pillar['build-infra']['build-envs'].fedora!);
  const plan = makePlan(await loadPillar(YAML.stringify(pillar), 'pillar.yml'));
  return JSON.parse(JSON.stringify(plan.vms.find((v) => v.name === 'build-fedora')!.config)) as VmConfig & { build: Record<string, unknown> };
}

describe('pillar min-age-days (Upload-component to current)', () => {
  it('is left out unless set (the build role then applies upstream\'s 5) and carries a set value to the build qube', async () => {
    const plain = await fedoraConfig(() => {});
    expect(plain.build).not.toHaveProperty('minAgeDays');
    expect(parseBuildConfig(plain, '/home/user/qbuild').minAgeDays).toBeUndefined();
    expect(DEFAULT_MIN_AGE_DAYS).toBe(5);
    expect(parseBuildConfig(await fedoraConfig((e) => { e['min-age-days'] = 0; }), '/home/user/qbuild').minAgeDays).toBe(0);
  });

  it('refuses a value that is not a whole number of days from 0 to 365, in the pillar and in qbuild.json', async () => {
    for (const bad of [-1, 366, 1.5, 'five']) {
      await expect(fedoraConfig((e) => { e['min-age-days'] = bad; })).rejects.toThrow(/build-infra:build-envs:fedora:min-age-days: /);
    }
    const c = await fedoraConfig(() => {});
    c.build.minAgeDays = -3;
    expect(oneLineError('config', () => parseBuildConfig(c, '/home/user/qbuild'), 'config')).toMatch(/minAgeDays: must be a whole number from 0 to 365/);
  });

  it('templates and iso recipes: `{command: [...]}` per template name and for the ISO, carried to the build qube', async () => {
    const c = parseBuildConfig(await fedoraConfig((e) => {
      e.templates = { 'fedora-42-xfce': { command: ['qb', '-c', 'builder-rpm', 'template', 'fedora-42-xfce'] } };
      e.iso = { command: ['qb', 'installer'] };
    }), '/home/user/qbuild');
    expect(c.templates).toEqual([{ name: 'fedora-42-xfce', argv: ['qb', '-c', 'builder-rpm', 'template', 'fedora-42-xfce'] }]);
    expect(c.iso).toEqual({ argv: ['qb', 'installer'] });
    const plain = await fedoraConfig(() => {});
    expect(plain.build).not.toHaveProperty('templates');
    await expect(fedoraConfig((e) => { e.templates = { 'bad.name': { command: ['x'] } }; })).rejects.toThrow(/build-infra:build-envs:fedora:templates:bad\.name: a template name is/);
    await expect(fedoraConfig((e) => { e.iso = { cmd: ['x'] }; })).rejects.toThrow(/build-infra:build-envs:fedora:iso:cmd: /);
    await expect(fedoraConfig((e) => { e.iso = {}; })).rejects.toThrow(/build-infra:build-envs:fedora:iso:command: missing/);
  });

  it('a template\'s repository: templates-itl (the default, left out) or templates-community, carried to the build qube; anything else refused with one line, in the pillar and in qbuild.json', async () => {
    const c = parseBuildConfig(await fedoraConfig((e) => {
      e.templates = { 'fedora-42-xfce': { command: ['qb', 'template'] }, 'whonix-17': { command: ['qb', 'template'], repository: 'templates-community' } };
    }), '/home/user/qbuild');
    expect(c.templates).toEqual([{ name: 'fedora-42-xfce', argv: ['qb', 'template'] }, { name: 'whonix-17', argv: ['qb', 'template'], repository: 'templates-community' }]);
    for (const bad of ['templates-itl-testing', 'current', 5]) {
      await expect(fedoraConfig((e) => { e.templates = { 'whonix-17': { command: ['qb'], repository: bad } }; })).rejects.toThrow(/build-infra:build-envs:fedora:templates:whonix-17:repository: /);
    }
    await expect(fedoraConfig((e) => { e.templates = { 'whonix-17': { command: ['qb'], repo: 'templates-community' } }; })).rejects.toThrow(/build-infra:build-envs:fedora:templates:whonix-17:repo: /);
    const q = await fedoraConfig((e) => { e.templates = { 'whonix-17': { command: ['qb'], repository: 'templates-community' } }; });
    (q.build.templates as { repository: string }[])[0]!.repository = 'templates-community-testing';
    expect(oneLineError('config', () => parseBuildConfig(q, '/home/user/qbuild'), 'config')).toMatch(/templates\.whonix-17\.repository: must be "templates-itl" or "templates-community"/);
  });
});
