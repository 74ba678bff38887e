import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRecipe } from '../../../../src/roles/build/recipes/run-recipe.js';
import { FIXTURE_FAILURE_LINE } from '../../../../src/demo/fixture-component.js';
import type { Artifact } from '../../../../src/roles/build/pipeline/types.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { fixtureCheckout, recipeJob, VM_BOOKWORM, VM_FC42 } from './fixture-checkout.js';

const VM_TRIXIE = { ...VM_BOOKWORM, name: 'vm-trixie', dist: 'trixie' };

const tmp = tempDirs('qbuild-deb-recipe-');
const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
const names = (as: Artifact[]) => as.map((a) => [basename(a.path), a.kind]);
const only = (as: Artifact[], kind: Artifact['kind']) => as.find((a) => a.kind === kind)!.path;

describe('deb recipe', () => {
  it('builds a 3.0 (native) source and binary package with dpkg-buildpackage -us -uc', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3', 'native');
    const { job, output } = recipeJob(root, src, VM_BOOKWORM);
    const artifacts = await runRecipe({ kind: 'deb' }, job);

    expect(names(artifacts).sort()).toEqual([
      ['qbuild-fixture_1.2.3+deb12u1.dsc', 'dsc'],
      ['qbuild-fixture_1.2.3+deb12u1.tar.xz', 'source'],
      ['qbuild-fixture_1.2.3+deb12u1_all.deb', 'deb'],
      [`qbuild-fixture_1.2.3+deb12u1_${arch}.buildinfo`, 'buildinfo'],
      [`qbuild-fixture_1.2.3+deb12u1_${arch}.changes`, 'changes'],
    ]);
    const info = execFileSync('dpkg-deb', ['-I', only(artifacts, 'deb')], { encoding: 'utf8' });
    expect(info).toMatch(/^ Package: qbuild-fixture$/m);
    expect(info).toMatch(/^ Version: 1\.2\.3\+deb12u1$/m);
    expect(info).toMatch(/^ Architecture: all$/m);
    expect(execFileSync('dpkg-deb', ['-c', only(artifacts, 'deb')], { encoding: 'utf8' })).toContain('./usr/bin/qbuild-fixture');
    // The source package: a .dsc naming the native tarball, unsigned (-us -uc), for debsign later.
    const dsc = readFileSync(only(artifacts, 'dsc'), 'utf8');
    expect(dsc).toMatch(/^Format: 3\.0 \(native\)$/m);
    expect(dsc).not.toContain('BEGIN PGP SIGNATURE');
    expect(output()).toContain('dpkg-buildpackage -us -uc for qbuild-fixture 1.2.3+deb12u1 (3.0 (native))');
    // The build's changelog entry, upstream's: this dist's version and code name, the source's maintainer and date.
    const changes = readFileSync(only(artifacts, 'changes'), 'utf8');
    expect(changes).toMatch(/^Distribution: bookworm$/m);
    expect(changes).toMatch(/^Version: 1\.2\.3\+deb12u1$/m);
    expect(changes).toContain('\n .\n   * Build for bookworm\n');
    const log = execFileSync('dpkg-deb', ['--fsys-tarfile', only(artifacts, 'deb')]);
    const entry = execFileSync('tar', ['-xO', './usr/share/doc/qbuild-fixture/changelog.gz'], { input: log });
    const text = execFileSync('gzip', ['-dc'], { input: entry, encoding: 'utf8' });
    expect(text.split('\n').slice(0, 5)).toEqual([
      'qbuild-fixture (1.2.3+deb12u1) bookworm; urgency=medium', '', '  * Build for bookworm', '',
      ' -- qbuild fixture <fixture@example.invalid>  Mon, 01 Dec 2025 00:00:00 +0000',
    ]);
  });

  it('builds a 3.0 (quilt) package with an orig tarball made by git archive without debian/', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3', 'quilt');
    const { job } = recipeJob(root, src, VM_TRIXIE);
    const artifacts = await runRecipe({ kind: 'deb' }, job);

    expect(names(artifacts).sort()).toEqual([
      ['qbuild-fixture_1.2.3-1+deb13u1.debian.tar.xz', 'source'],
      ['qbuild-fixture_1.2.3-1+deb13u1.dsc', 'dsc'],
      ['qbuild-fixture_1.2.3-1+deb13u1_all.deb', 'deb'],
      [`qbuild-fixture_1.2.3-1+deb13u1_${arch}.buildinfo`, 'buildinfo'],
      [`qbuild-fixture_1.2.3-1+deb13u1_${arch}.changes`, 'changes'],
      ['qbuild-fixture_1.2.3.orig.tar.gz', 'source'],
    ]);
    const orig = artifacts.find((a) => a.path.endsWith('.orig.tar.gz'))!.path;
    const listing = execFileSync('tar', ['-tzf', orig], { encoding: 'utf8' }).split('\n');
    expect(listing).toContain('qbuild-fixture-1.2.3/qbuild-fixture');
    expect(listing.some((l) => l.includes('/debian'))).toBe(false);
    const info = execFileSync('dpkg-deb', ['-I', only(artifacts, 'deb')], { encoding: 'utf8' });
    expect(info).toMatch(/^ Version: 1\.2\.3-1\+deb13u1$/m);
    // dpkg-source itself accepts the result: the .dsc unpacks to the same tree.
    execFileSync('dpkg-source', ['--no-check', '-x', only(artifacts, 'dsc'), `${root}/unpacked`], { cwd: root, stdio: 'ignore' });
    expect(readFileSync(`${root}/unpacked/qbuild-fixture`, 'utf8')).toContain('qbuild-fixture 1.2.3');
  });

  it('fails as a stage error when debian/rules fails', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0', 'failing');
    const { job, output } = recipeJob(root, src, VM_BOOKWORM);
    await expect(runRecipe({ kind: 'deb' }, job)).rejects.toMatchObject({ code: 'stage', message: expect.stringMatching(/^dpkg-buildpackage failed: exit code [1-9]/) });
    expect(output()).toContain(FIXTURE_FAILURE_LINE);
  });

  it('fails as a stage error when the changelog cannot take the dist\'s entry, or the checkout\'s is not the commit\'s', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const changelog = join(src.dir, 'debian', 'changelog');
    const good = readFileSync(changelog, 'utf8');
    writeFileSync(changelog, good.replace(' -- ', ' - '));
    await expect(runRecipe({ kind: 'deb' }, recipeJob(root, src, VM_BOOKWORM).job))
      .rejects.toMatchObject({ code: 'stage', message: 'debian/changelog: the top entry has no " -- Name <email>  date" trailer line' });
    writeFileSync(changelog, good.replace('(1.0)', '(1.0+deb12u1~)'));
    await expect(runRecipe({ kind: 'deb' }, recipeJob(root, src, VM_BOOKWORM).job)).rejects.toMatchObject({ code: 'stage', message: expect.stringMatching(/does not end in a number/) });
    writeFileSync(changelog, good.replace('(1.0)', '(9.9)'));
    const { job, output } = recipeJob(root, src, VM_BOOKWORM);
    await expect(runRecipe({ kind: 'deb' }, job)).rejects.toMatchObject({ code: 'stage', message: expect.stringMatching(/^dpkg-buildpackage failed: exit code 1/) });
    expect(output()).toContain(`qbuild: debian/changelog of ${src.commit} says 1.0, the checkout's says 9.9`);
  });

  it('keeps the top entry\'s maintainer byte for byte (UTF-8) in the dist\'s entry', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const changelog = join(src.dir, 'debian', 'changelog');
    writeFileSync(changelog, readFileSync(changelog, 'utf8').replace('qbuild fixture <', 'Frédéric Ødegård <'));
    const git = (...a: string[]) => execFileSync('git', ['-C', src.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a], { encoding: 'utf8' }).trim();
    git('commit', '-q', '-am', 'maintainer');
    const artifacts = await runRecipe({ kind: 'deb' }, recipeJob(root, { ...src, commit: git('rev-parse', 'HEAD') }, VM_BOOKWORM).job);
    expect(readFileSync(only(artifacts, 'changes'), 'utf8')).toMatch(/^Changed-By: Frédéric Ødegård <fixture@example\.invalid>$/m);
  });

  it('refuses to build for an rpm dist', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    await expect(runRecipe({ kind: 'deb' }, recipeJob(root, src, VM_FC42).job)).rejects.toMatchObject({ code: 'stage' });
  });
});
