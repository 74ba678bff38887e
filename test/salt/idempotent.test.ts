import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { makePlan } from '../../src/roles/dom0/make-plan.js';
import { parsePillar } from '../../src/roles/dom0/pillar.js';
import { renderFormula } from '../../src/salt/formula.js';
import { volumeSizeBytes } from '../../src/salt/volume-size.js';
import { repoRoot } from '../helpers/binary.js';

const examplePillar = readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8');
/** The example with sys-net's listener on loopback, so nginx fronts it. */
const nginxPillar = examplePillar.replace(/^(\s+listen:\s*)\S+/m, '$1127.0.0.1:8080');

type States = Record<string, Record<string, Record<string, unknown>[]>>;

function render(pillarText: string): ReturnType<typeof renderFormula> {
  return renderFormula(makePlan(parsePillar(pillarText, 'pillar.yml')), pillarText);
}

/** Every state file of a formula, parsed as Salt reads it (PyYAML, YAML 1.1). */
function stateFiles(pillarText: string): Map<string, States> {
  const files = render(pillarText).salt.filter((f) => f.path.endsWith('.sls'));
  return new Map(files.map((f) => [f.path, parse(f.text, { version: '1.1', uniqueKeys: true }) as States]));
}

const step = (list: Record<string, unknown>[], key: string): unknown => list.find((e) => key in e)?.[key];

/**
 * A cmd.run is safe to apply twice when it says when it has nothing to do: `unless`, `onlyif`
 * or `creates`, or `onchanges` (it runs only in the apply that changed its inputs).
 */
const GUARDS = ['unless', 'onlyif', 'creates', 'onchanges'];

describe('Salt applies twice', () => {
  it('the example pillar has the nginx variant\'s listen key to rewrite', () => {
    expect(nginxPillar).not.toBe(examplePillar);
  });

  for (const [name, pillar] of [['example pillar', examplePillar], ['listener behind nginx', nginxPillar]] as const) {
    it(`${name}: rendering twice gives identical files`, () => {
      const a = render(pillar);
      const b = render(pillar);
      expect(b).toEqual(a);
      expect(a.salt.length).toBeGreaterThan(3);
    });

    it(`${name}: every cmd.run state has a guard`, () => {
      let seen = 0;
      for (const [path, states] of stateFiles(pillar)) {
        for (const [id, state] of Object.entries(states)) {
          const run = state['cmd.run'];
          if (run === undefined) continue;
          seen++;
          const guards = GUARDS.filter((g) => step(run, g) !== undefined);
          expect({ path, id, guarded: guards.length > 0 }).toEqual({ path, id, guarded: true });
        }
      }
      expect(seen).toBeGreaterThanOrEqual(6); // volume, daemons start/restart ×3, secret, webhooks start
    });
  }

  it('qvm-volume extend runs only when the volume is smaller than the pillar size', () => {
    const dom0 = stateFiles(examplePillar).get('qbuild/dom0.sls')!;
    const run = dom0['qbuild-volume-build-fedora']!['cmd.run']!;
    expect(step(run, 'name')).toBe('qvm-volume extend build-fedora:private 20GiB');
    expect(step(run, 'unless')).toBe('test "$(qvm-volume info build-fedora:private size)" -ge 21474836480');
  });

  it('volume sizes in bytes follow qvm-volume (K/M/G powers of 1000, Ki/KiB powers of 1024)', () => {
    expect(volumeSizeBytes('1024')).toBe(1024n);
    expect(volumeSizeBytes('20G')).toBe(20_000_000_000n);
    expect(volumeSizeBytes('20GB')).toBe(20_000_000_000n);
    expect(volumeSizeBytes('20GiB')).toBe(20n * 1024n ** 3n);
    expect(volumeSizeBytes('2TiB')).toBe(2n * 1024n ** 4n);
    expect(() => volumeSizeBytes('20 GiB')).toThrow(/not checked/);
  });

  it('the webhook secret is created once, random, 0600 and the listener user\'s', () => {
    const sysnet = stateFiles(examplePillar).get('qbuild/vms/sys-net.sls')!;
    const run = sysnet['qbuild-webhook-secret']!['cmd.run']!;
    expect(step(run, 'creates')).toBe('/rw/config/qbuild/webhook-secret');
    const cmd = step(run, 'name') as string;
    expect(cmd).toMatch(/^umask 077 && /);
    expect(cmd).toContain('head -c 32 /dev/urandom | base64 > /rw/config/qbuild/webhook-secret.tmp');
    expect(cmd).toContain('chown user:user /rw/config/qbuild/webhook-secret.tmp');
    expect(step(sysnet['qbuild-webhooks-start']!['cmd.run']!, 'onchanges')).toContainEqual({ cmd: 'qbuild-webhook-secret' });
  });

  it('nginx goes into the net qube\'s template (and the running qube) only when nginx fronts the listener', () => {
    const plain = stateFiles(examplePillar);
    expect(Object.keys(plain.get('qbuild/dom0.sls')!).filter((id) => id.includes('nginx'))).toEqual([]);
    expect(plain.get('qbuild/vms/sys-net.sls')!['qbuild-webhooks-nginx']).toBeUndefined();

    const fronted = stateFiles(nginxPillar);
    const install = fronted.get('qbuild/dom0.sls')!['qbuild-nginx-template-sys-net']!['cmd.run']!;
    expect(step(install, 'name')).toMatch(/^qvm-run --pass-io --no-gui --user root "\$\(qvm-prefs sys-net template\)" 'if command -v dnf .*dnf -y install nginx.*apt-get -y install nginx.*' && qvm-shutdown --wait "\$\(qvm-prefs sys-net template\)"$/);
    expect(step(install, 'unless')).toBe('qvm-run --pass-io --no-gui --user root "$(qvm-prefs sys-net template)" \'command -v nginx\' >/dev/null');
    expect(step(install, 'require')).toEqual([{ qvm: 'qbuild-exists-sys-net' }]);
    const sysnet = fronted.get('qbuild/vms/sys-net.sls')!;
    expect(sysnet['qbuild-webhooks-nginx']).toEqual({ 'pkg.installed': [{ name: 'nginx' }] });
    expect(step(sysnet['qbuild-webhooks-start']!['cmd.run']!, 'onchanges')).toContainEqual({ pkg: 'qbuild-webhooks-nginx' });
  });

  it('the daemons are started only when one of them is not running', () => {
    const logs = stateFiles(examplePillar).get('qbuild/vms/logs.sls')!;
    expect(step(logs['qbuild-daemons-start']!['cmd.run']!, 'unless')).toBe('systemctl is-active --quiet qbuild-role-logs');
  });
});
