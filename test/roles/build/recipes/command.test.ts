import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipe } from '../../../../src/roles/build/recipes/run-recipe.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { fixtureCheckout, recipeJob, VM_BOOKWORM, VM_FC42 } from './fixture-checkout.js';

const tmp = tempDirs('qbuild-command-recipe-');

/** A recipe command that records what it was given, then leaves a package in OUTPUT_DIR. */
const RECORDING = [
  'sh', '-c',
  'env | sort > "$OUTPUT_DIR/../seen-env"; pwd > "$OUTPUT_DIR/../seen-pwd"; '
  + 'mkdir -p "$OUTPUT_DIR/noarch" && cp "$SOURCE_DIR/qbuild-fixture" "$OUTPUT_DIR/noarch/$DIST.rpm"; echo "built for $DIST"',
];

describe('command recipe', () => {
  it('runs the configured command line with SOURCE_DIR, OUTPUT_DIR and DIST, and nothing of the daemon', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '3.1');
    const { job, output } = recipeJob(root, src, VM_FC42);
    const artifacts = await runRecipe({ kind: 'command', argv: RECORDING }, job);

    const env = readFileSync(join(job.dir, 'seen-env'), 'utf8').trim().split('\n');
    const names = env.map((l) => l.split('=')[0]).filter((n) => n !== 'PWD'); // sh itself adds PWD
    expect(names.sort()).toEqual(['COMMIT', 'COMPONENT', 'DIST', 'HOME', 'LANG', 'OUTPUT_DIR', 'PATH', 'SOURCE_DIR', 'SOURCE_GIT_DIR', 'TMPDIR', 'VERSION']);
    expect(env).toContain(`SOURCE_DIR=${src.dir}`);
    expect(env).toContain(`SOURCE_GIT_DIR=${src.gitDir}`);
    expect(env).toContain(`OUTPUT_DIR=${join(job.dir, 'out')}`);
    expect(env).toContain('DIST=vm-fc42');
    expect(env).toContain('VERSION=3.1');
    expect(readFileSync(join(job.dir, 'seen-pwd'), 'utf8')).toBe(`${job.dir}\n`);
    expect(artifacts.map((a) => [a.path, a.kind])).toEqual([[join(job.dir, 'out', 'noarch', 'vm-fc42.rpm'), 'rpm']]);
    expect(output()).toBe('built for vm-fc42\n');
  });

  it('builds for any dist format', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '3.1');
    const { job } = recipeJob(root, src, VM_BOOKWORM);
    const artifacts = await runRecipe({ kind: 'command', argv: ['sh', '-c', 'touch "$OUTPUT_DIR/x_1_all.deb"'] }, job);
    expect(artifacts.map((a) => [basename(a.path), a.kind])).toEqual([['x_1_all.deb', 'deb']]);
  });

  it('fails when the command exits non-zero, when it leaves no package, or leaves a symlink or a bad name', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '3.1');
    const cases: [string, RegExp][] = [
      ['echo about to fail; exit 7', /^sh failed: exit code 7$/],
      ['touch "$OUTPUT_DIR/README"', /no \.rpm or \.deb/],
      ['ln -s /etc/passwd "$OUTPUT_DIR/evil.rpm"', /is not a regular file/],
      ['touch "$OUTPUT_DIR/two words.rpm"', /cannot be a manifest label/],
    ];
    for (const [script, message] of cases) {
      const { job } = recipeJob(join(root, String(cases.findIndex((c) => c[0] === script))), src, VM_FC42);
      await expect(runRecipe({ kind: 'command', argv: ['sh', '-c', script] }, job)).rejects.toMatchObject({ code: 'stage', message: expect.stringMatching(message) });
    }
  });
});
