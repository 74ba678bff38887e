import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipe } from '../../../../src/roles/build/recipes/run-recipe.js';
import { findSpec, rpmDistTag } from '../../../../src/roles/build/recipes/rpm.js';
import { FIXTURE_FAILURE_LINE } from '../../../../src/demo/fixture-component.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { fixtureCheckout, recipeJob, VM_BOOKWORM, VM_FC42 } from './fixture-checkout.js';

const tmp = tempDirs('qbuild-rpm-recipe-');
const rpmq = (file: string, fmt: string) => execFileSync('rpm', ['-qp', '--qf', fmt, file], { encoding: 'utf8' });

describe('rpm recipe', () => {
  it('builds the fixture from a git archive of the commit with rpmbuild -ba', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3');
    const { job, output } = recipeJob(root, src, VM_FC42);
    const artifacts = await runRecipe({ kind: 'rpm' }, job);

    expect(artifacts.map((a) => [basename(a.path), a.kind])).toEqual([
      ['qbuild-fixture-1.2.3-1.fc42.noarch.rpm', 'rpm'],
      ['qbuild-fixture-1.2.3-1.fc42.src.rpm', 'srpm'],
    ]);
    const [rpm, srpm] = artifacts.map((a) => a.path) as [string, string];
    expect(rpmq(rpm, '%{NAME} %{VERSION} %{RELEASE} %{ARCH}')).toBe('qbuild-fixture 1.2.3 1.fc42 noarch');
    expect(rpmq(rpm, '[%{FILENAMES}\n]')).toContain('/usr/bin/qbuild-fixture');
    // The SRPM carries Source0 exactly as the spec names it, made by git archive.
    expect(execFileSync('rpm', ['-qpl', srpm], { encoding: 'utf8' }).split('\n')).toContain('qbuild-fixture-1.2.3.tar.gz');
    expect(output()).toContain(`git archive ${src.commit}, prefix qbuild-fixture-1.2.3/`);
    expect(output()).toContain('Wrote: ');
  });

  it('renders a Qubes rpm_spec/*.spec.in (@VERSION@ from the version file, @REL@ from rel) as builderv2 does', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3');
    const spec = readFileSync(join(src.dir, 'qbuild-fixture.spec'), 'utf8')
      .replace(/^Version:.*$/m, 'Version: @VERSION@').replace(/^Release:.*$/m, 'Release: @REL@%{?dist}');
    mkdirSync(join(src.dir, 'rpm_spec'));
    writeFileSync(join(src.dir, 'rpm_spec', 'qbuild-fixture.spec.in'), spec);
    writeFileSync(join(src.dir, 'rel'), '3\n');
    const git = (...args: string[]) => execFileSync('git', ['-C', src.dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('rm', '-q', 'qbuild-fixture.spec');
    git('add', '.');
    git('commit', '-q', '-m', 'spec template');
    const commit = git('rev-parse', 'HEAD').trim();
    const { job } = recipeJob(root, { ...src, commit }, VM_FC42);
    const artifacts = await runRecipe({ kind: 'rpm' }, job);
    expect(artifacts.map((a) => basename(a.path))).toEqual(['qbuild-fixture-1.2.3-3.fc42.noarch.rpm', 'qbuild-fixture-1.2.3-3.fc42.src.rpm']);
    expect(rpmq(artifacts[0]!.path, '%{VERSION}-%{RELEASE}')).toBe('1.2.3-3.fc42');
  });

  it('takes a configured spec path, and refuses one outside the checkout', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '2.0');
    expect(findSpec(src.dir, 'qbuild-fixture.spec')).toBe(join(src.dir, 'qbuild-fixture.spec'));
    expect(() => findSpec(src.dir, '../x.spec')).toThrow(/relative path inside the checkout/);
    expect(() => findSpec(src.dir, '/etc/passwd')).toThrow(/relative path inside the checkout/);
    expect(() => findSpec(src.dir, 'missing.spec')).toThrow(/not a file/);
    writeFileSync(join(src.dir, 'second.spec'), 'Name: x\n');
    expect(() => findSpec(src.dir)).toThrow(/several specs/);
  });

  it('fails as a stage error naming the exit code when rpmbuild fails', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0', 'failing');
    const { job, output } = recipeJob(root, src, VM_FC42);
    await expect(runRecipe({ kind: 'rpm' }, job)).rejects.toMatchObject({ code: 'stage', message: 'rpmbuild failed: exit code 1' });
    expect(output()).toContain(FIXTURE_FAILURE_LINE);
  });

  it('refuses to build for a deb dist', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    await expect(runRecipe({ kind: 'rpm' }, recipeJob(root, src, VM_BOOKWORM).job)).rejects.toMatchObject({ code: 'stage' });
  });

  it('tags dists as Fedora and EL do', () => {
    expect(rpmDistTag(VM_FC42)).toBe('.fc42');
    expect(rpmDistTag({ name: 'vm-centos-stream9', set: 'vm', dist: 'centos-stream9', format: 'rpm' })).toBe('.el9');
  });
});
