import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyFormula } from '../../../src/roles/dom0/apply.js';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { parsePillar } from '../../../src/roles/dom0/pillar.js';
import { writeFormula } from '../../../src/roles/dom0/write-formula.js';
import { repoRoot } from '../../helpers/binary.js';
import { tempDirs } from '../../helpers/tmp.js';

let dir: string;
const tmp = tempDirs('qbapply-');
beforeEach(() => { dir = tmp(); });

/** A stand-in qubesctl that logs its arguments and fails when asked to. */
function fakeQubesctl(failOn?: string): string {
  const path = join(dir, 'qubesctl');
  writeFileSync(path, `#!/bin/sh\necho "$*" >> ${join(dir, 'calls')}\n${failOn ? `case "$*" in *${failOn}*) echo "state failed: boom"; exit 3;; esac\n` : ''}exit 0\n`);
  chmodSync(path, 0o755);
  return path;
}

function formula(withBinary: boolean): string {
  const text = readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8');
  const out = join(dir, 'formula');
  const fakeBinary = join(dir, 'fake-qbuild');
  writeFileSync(fakeBinary, '#!/bin/sh\n');
  writeFormula(out, makePlan(parsePillar(text, 'pillar.yml')), text, withBinary ? fakeBinary : null);
  return out;
}

describe('applyFormula', () => {
  const targets = () => ({ stateRoot: join(dir, 'user_salt'), pillarRoot: join(dir, 'user_pillar') });

  it('installs the formula and runs the three qubesctl steps in order', () => {
    const lines: string[] = [];
    applyFormula(formula(true), fakeQubesctl(), { log: (l) => lines.push(l), failure: (t) => lines.push(t) }, targets());
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('top.enable qbuild\ntop.enable qbuild pillar=True\n--all state.highstate\n');
    expect(lines.slice(1)).toEqual([
      '[1/3] qubesctl top.enable qbuild', '[2/3] qubesctl top.enable qbuild pillar=True', '[3/3] qubesctl --all state.highstate', 'applied',
    ]);
    for (const p of ['user_salt/qbuild.top', 'user_salt/qbuild/dom0.sls', 'user_salt/qbuild/vms/logs.sls', 'user_salt/qbuild/files/qbuild',
      'user_salt/qbuild/files/logs/qbuild.json', 'user_pillar/qbuild.top', 'user_pillar/qbuild/init.sls']) {
      expect(existsSync(join(dir, p)), p).toBe(true);
    }
  });

  it('stops at the first failing step', () => {
    let shown = '';
    expect(() => applyFormula(formula(true), fakeQubesctl('pillar=True'), { log: () => {}, failure: (t) => { shown += t; } }, targets()))
      .toThrow('qubesctl top.enable qbuild pillar=True failed (exit 3)');
    expect(shown).toBe('state failed: boom\n');
    expect(readFileSync(join(dir, 'calls'), 'utf8')).toBe('top.enable qbuild\ntop.enable qbuild pillar=True\n');
  });

  it('refuses a formula without the binary', () => {
    expect(() => applyFormula(formula(false), fakeQubesctl(), { log: () => {}, failure: () => {} }, targets())).toThrow(/files\/qbuild missing/);
  });
});
