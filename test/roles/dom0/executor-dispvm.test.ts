import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { evaluate, type SystemInfo } from '../../../src/protocol/qrexec/policy/evaluate.js';
import { policyFromFiles } from '../../../src/protocol/qrexec/policy/parser.js';
import { POLICY_FILE } from '../../../src/salt/policy.js';
import { renderDom0Sls } from '../../../src/salt/dom0-sls.js';
import { renderVmSls } from '../../../src/salt/vm-sls.js';
import { parseBuildConfig } from '../../../src/roles/build/config.js';
import { repoRoot } from '../../helpers/binary.js';

// Pillar `build-envs:ENV:executor: dispvm` → the plan's disposable template, its policy, its
// Salt states and the build qube's config; refusals are one line.
const example = () => readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8');
const withExecutor = (value: string, env = 'fedora') => example().replace(new RegExp(`(\\n    ${env}:\\n      logs: logs\\n)`), `$1      executor: ${value}\n`);
const plan = () => makePlan(parsePillar(withExecutor('dispvm'), 'pillar.yml'));

describe('executor: dispvm', () => {
  it('plans dvm-build-ENV: an AppVM on the build template, no network, a template for disposables offering only RunRecipe', () => {
    const p = plan();
    const build = p.vms.find((v) => v.name === 'build-fedora')!;
    expect(p.vms.find((v) => v.name === 'dvm-build-fedora')).toEqual({
      name: 'dvm-build-fedora', role: 'dispvm', env: 'fedora', label: 'red', template: build.template, netvm: null, templateForDispvms: true,
      services: ['qubesbuilder.RunRecipe'], daemons: [], config: { vm: 'dvm-build-fedora', role: 'dispvm', env: 'fedora' },
    });
    expect(p.vms.some((v) => v.name === 'dvm-build-debian')).toBe(false);
    expect((build.config.build as Record<string, unknown>).executor).toEqual({ kind: 'dispvm', dvm: 'dvm-build-fedora' });
    expect((p.vms.find((v) => v.name === 'build-debian')!.config.build as Record<string, unknown>).executor).toBeUndefined();
  });

  it('leaves the plan of a local env as it was (executor: local is the default)', () => {
    const local = makePlan(parsePillar(withExecutor('local'), 'pillar.yml'));
    expect(local).toEqual(makePlan(parsePillar(example(), 'pillar.yml')));
  });

  it('renders the Salt states: template_for_dispvms, netvm none, the binary and the RunRecipe stub, no daemons', () => {
    const p = plan();
    const dom0 = renderDom0Sls(p);
    expect(dom0).toMatch(/dvm-build-fedora:\n\s+qvm\.vm:\n[\s\S]*?template: fedora-43-xfce[\s\S]*?netvm: none[\s\S]*?template_for_dispvms: true/);
    const sls = renderVmSls(p.vms.find((v) => v.name === 'dvm-build-fedora')!);
    expect(sls).toContain('/usr/local/bin/qbuild:');
    expect(sls).toContain('/usr/local/etc/qubes-rpc/qubesbuilder.RunRecipe:');
    expect(sls).not.toContain('rc.local');
  });

  it('allows RunRecipe from build-ENV to @dispvm:dvm-build-ENV and nothing else to its disposables', () => {
    const text = plan().policy.text;
    expect(text).toContain('qubesbuilder.RunRecipe * build-fedora @dispvm:dvm-build-fedora allow\n* * @anyvm @dispvm:dvm-build-fedora deny\n');
    expect(text).toContain('qubesbuilder.RunRecipe * @anyvm @anyvm deny\nqubesbuilder.RunRecipe * @anyvm dom0 deny\n');
    const policy = policyFromFiles([{ name: POLICY_FILE, text }, { name: '50-user.policy', text: '* * @anyvm @anyvm allow\n' }]);
    const system: SystemInfo = {
      vms: Object.fromEntries(['build-fedora', 'keys-fedora', 'build-debian', 'keys-debian', 'logs', 'sys-net', 'dvm-build-fedora', 'work']
        .map((n) => [n, { type: 'AppVM', tags: [], ...(n === 'dvm-build-fedora' ? { templateForDispvms: true } : {}) }])),
    };
    const call = (source: string, target: string, service: string) => evaluate(policy, { service, argument: undefined, source, target }, system);
    expect(call('build-fedora', '@dispvm:dvm-build-fedora', 'qubesbuilder.RunRecipe')).toMatchObject({ action: 'allow', target: '@dispvm:dvm-build-fedora' });
    for (const [source, target, service] of [
      ['build-debian', '@dispvm:dvm-build-fedora', 'qubesbuilder.RunRecipe'],
      ['sys-net', '@dispvm:dvm-build-fedora', 'qubesbuilder.RunRecipe'],
      ['work', '@dispvm:dvm-build-fedora', 'qubesbuilder.RunRecipe'],
      ['build-fedora', '@dispvm:dvm-build-fedora', 'qubes.Gpg'],
      ['build-fedora', 'dvm-build-fedora', 'qubesbuilder.RunRecipe'],
      ['work', '@dispvm:dvm-build-fedora', 'qubes.Filecopy'],
      ['build-fedora', 'work', 'qubesbuilder.RunRecipe'],
    ] as const) {
      expect(call(source, target, service).action, `${source} -> ${target} ${service}`).toBe('deny');
    }
  });

  it('refuses an unknown executor, and an env whose dvm name would be too long, with one line', () => {
    expect(() => parsePillar(withExecutor('podman'), 'pillar.yml')).toThrow(/^pillar\.yml: build-infra:build-envs:fedora:executor: must be "local" \(in the build qube\) or "dispvm" \(a fresh disposable per recipe\)$/);
    const long = example().replace(/\n    fedora:\n      logs: logs\n/, '\n    fedora-with-a-long-name:\n      logs: logs\n      executor: dispvm\n');
    expect(() => parsePillar(long, 'pillar.yml')).toThrow(/build-envs:fedora-with-a-long-name:executor: invalid VM name "dvm-build-fedora-with-a-long-name": longer than 31 characters/);
  });

  it('the build role reads its executor strictly', () => {
    const config = plan().vms.find((v) => v.name === 'build-fedora')!.config;
    expect(parseBuildConfig(config, '/state').executor).toEqual({ kind: 'dispvm', dvm: 'dvm-build-fedora' });
    const withExec = (executor: unknown) => ({ ...config, build: { ...(config.build as object), executor } });
    expect(() => parseBuildConfig(withExec({ kind: 'podman', dvm: 'x' }), '/state')).toThrow(/build\.executor\.kind: must be/);
    expect(() => parseBuildConfig(withExec({ kind: 'dispvm' }), '/state')).toThrow(/build\.executor\.dvm: missing/);
    expect(() => parseBuildConfig(withExec({ kind: 'dispvm', dvm: 'dvm', extra: 1 }), '/state')).toThrow(/build\.executor\.extra: unknown key/);
    expect(() => parseBuildConfig(withExec({ kind: 'dispvm', dvm: '-bad' }), '/state')).toThrow(/invalid VM name/);
  });
});
