import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyDir as loadSync } from '../../../../src/protocol/qrexec/policy/load.js';
import type { Policy } from '../../../../src/protocol/qrexec/policy/parser.js';
import { evaluate } from '../../../../src/protocol/qrexec/policy/evaluate.js';
import { QbuildError } from '../../../../src/errors.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'qbuild-policy-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const SYSTEM = { vms: { 'build-fedora': { tags: [] }, logs: { tags: [] } } };

// Wrapped so that a throw is a rejection and the assertions below read the same for it.
const LOADERS: [string, (dir: string) => Promise<Policy>][] = [
  ['loadPolicyDir', async (d) => loadSync(d)],
];

describe.each(LOADERS)('%s', (_name, loadPolicyDir) => {
  it('reads *.policy files in name order and ignores everything else', async () => {
    await writeFile(join(dir, '90-default.policy'), '* * @anyvm @anyvm deny\n');
    await writeFile(join(dir, '30-qubesbuilder.policy'), '# builder\nqubesbuilder.BuildLog * build-fedora dom0 allow target=logs\n');
    await writeFile(join(dir, '10-broken.policy.rpmsave'), 'this is not a policy\n');
    await writeFile(join(dir, 'README'), 'not a policy either\n');
    await writeFile(join(dir, '.05-hidden.policy'), 'garbage\n');
    await mkdir(join(dir, '20-dir.policy'));
    const policy = await loadPolicyDir(dir);
    expect(policy.rules.map((r) => [r.file, r.line])).toEqual([
      [join(dir, '30-qubesbuilder.policy'), 2],
      [join(dir, '90-default.policy'), 1],
    ]);
    const req = { service: 'qubesbuilder.BuildLog', argument: undefined, source: 'build-fedora' };
    expect(evaluate(policy, { ...req, target: 'dom0' }, SYSTEM)).toMatchObject({ action: 'allow', target: 'logs' });
    expect(evaluate(policy, { ...req, target: 'logs' }, SYSTEM)).toMatchObject({
      action: 'deny', reason: `denied by policy ${join(dir, '90-default.policy')}:1`,
    });
  });

  it('an empty directory is an empty policy (everything denied)', async () => {
    expect((await loadPolicyDir(dir)).rules).toEqual([]);
  });

  it('a syntax error names the file and line', async () => {
    await writeFile(join(dir, '10-ok.policy'), 'svc * vm1 vm2 allow\n');
    await writeFile(join(dir, '20-bad.policy'), '# one\n# two\nsvc * vm1 vm2 allow notify=maybe\n');
    await expect(loadPolicyDir(dir)).rejects.toThrow(
      new QbuildError('policy-syntax', `${join(dir, '20-bad.policy')}:3: "notify" is "maybe", but can be only 'yes' or 'no'`),
    );
  });

  it('a policy file name outside [a-z0-9_.-] refuses the whole directory', async () => {
    await writeFile(join(dir, '10-ok.policy'), 'svc * vm1 vm2 allow\n');
    await writeFile(join(dir, '20-Bad.policy'), 'svc * vm1 vm2 allow\n');
    await expect(loadPolicyDir(dir)).rejects.toMatchObject({ code: 'policy-syntax', message: expect.stringContaining('20-Bad.policy: invalid policy file name') });
  });

  it('a missing directory is an io error', async () => {
    await expect(loadPolicyDir(join(dir, 'nope'))).rejects.toMatchObject({ code: 'io', message: expect.stringContaining('ENOENT') });
  });
});
