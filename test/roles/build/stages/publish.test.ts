import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formDigest } from '../../../../src/protocol/signform.js';
import { aptVerdict, gpgvVerdict, rpmKeysVerdict } from '../../../../src/demo/verdicts.js';
import { abandonPublish, completePublish, publishedLink, publishedTree, stagePublish } from '../../../../src/roles/build/stages/publish.js';
import { signChanges, signStage } from '../../../../src/roles/build/stages/sign.js';
import type { BuiltDist, StageContext } from '../../../../src/roles/build/pipeline/types.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { VM_BOOKWORM, VM_FC42, buildFixture, buildQubeContext, dnfInstallDownloadOnly, recordedLog, startSigningSim, type SigningSim } from '../repo/signing-sim.js';

/** Every file under `dir` (following nothing): relative path → sha256, plus symlink targets. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const rel = relative(dir, p);
      if (e.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[rel] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Build, then the sign stage (and its .changes after this log's ticket), as the pipeline runs them. */
async function builtAndSigned(ctx: StageContext, dist: typeof VM_FC42, version: string): Promise<BuiltDist> {
  const built = await buildFixture(ctx, dist, version);
  const log = recordedLog(ctx, `sign-${dist.name}`);
  const pending = await signStage(ctx, built, log);
  await log.finish();
  await signChanges(ctx, pending);
  return built;
}

describe('publish stage', () => {
  let s: SigningSim;
  const tmp = tempDirs('qb-publish-');
  beforeAll(async () => { s = await startSigningSim(); }, 120_000);
  afterAll(async () => { await s?.down(); });

  it('RPM: staged, metadata named and signed after the publish log\'s ticket, swapped in; rpm -K, gpgv and dnf (gpgcheck, repo_gpgcheck) accept it', async () => {
    const ctx = buildQubeContext(s);
    const built = await builtAndSigned(ctx, VM_FC42, '1.0');
    const log = recordedLog(ctx, 'publish-vm-fc42');
    const staged = await stagePublish(ctx, built, log);
    const link = publishedLink(ctx, VM_FC42);
    expect(link).toBe(join(s.sim.stateDir('build-fedora'), 'repository', 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42'));
    expect(existsSync(link)).toBe(false); // nothing is published before the swap
    const repomd = join(staged.tree.dir, 'repodata', 'repomd.xml');
    expect(log.text()).toContain(`manifest binary ${formDigest('binary', readFileSync(repomd))} current-testing/vm/fc42/repodata/repomd.xml`);
    const logPath = await log.finish();
    const p = await completePublish(ctx, staged, logPath);
    expect(p).toEqual({ dist: VM_FC42, repoDir: link, logPath });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toMatch(/^\.versions\/fc42\/\d{8}T\d{9}Z-[0-9a-f]{8}$/);

    const tree = publishedTree(link);
    const work = tmp();
    expect(await gpgvVerdict(join(tree, 'repodata', 'repomd.xml.asc'), join(tree, 'repodata', 'repomd.xml'), s.pubKeyFile, work)).toMatch(/^Good signature from "Qubes OS qbuild test signing key/);
    const rpms = readdirSync(join(tree, 'rpm')).sort();
    expect(rpms).toEqual(['qbuild-fixture-1.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.0-1.fc42.src.rpm']);
    expect(await rpmKeysVerdict(join(tree, 'rpm', rpms[0]!), s.pubKeyFile, work)).toMatch(/Signature, key ID [0-9a-f]+: OK$/);
    const got = await dnfInstallDownloadOnly(link, s.pubKeyFile, 'qbuild-fixture', work);
    expect(basename(got)).toBe('qbuild-fixture-1.0-1.fc42.noarch.rpm');
  }, 300_000);

  it('RPM: a second version keeps the first; the old tree stays intact for a reader that still has it', async () => {
    const ctx = buildQubeContext(s);
    const link = publishedLink(ctx, VM_FC42);
    const oldTree = realpathSync(link);
    const before = snapshot(oldTree);
    const built = await builtAndSigned(ctx, VM_FC42, '1.1');
    const log = recordedLog(ctx, 'publish-vm-fc42');
    const staged = await stagePublish(ctx, built, log);
    await completePublish(ctx, staged, await log.finish());
    const tree = realpathSync(link);
    expect(tree).not.toBe(oldTree);
    expect(snapshot(oldTree)).toEqual(before); // hard links shared, never written through
    expect(readdirSync(join(tree, 'rpm')).filter((n) => n.endsWith('noarch.rpm')).sort())
      .toEqual(['qbuild-fixture-1.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.1-1.fc42.noarch.rpm']);
    // The 1.0 package in the new tree is the very same file (a hard link), not a copy.
    expect(statSync(join(tree, 'rpm', 'qbuild-fixture-1.0-1.fc42.noarch.rpm')).ino).toBe(statSync(join(oldTree, 'rpm', 'qbuild-fixture-1.0-1.fc42.noarch.rpm')).ino);
    const got = await dnfInstallDownloadOnly(link, s.pubKeyFile, 'qbuild-fixture', tmp());
    expect(basename(got)).toBe('qbuild-fixture-1.1-1.fc42.noarch.rpm');
  }, 300_000);

  it('a metadata signature with no ticket is refused: the published tree is unchanged and no new file is left', async () => {
    const ctx = buildQubeContext(s);
    const link = publishedLink(ctx, VM_FC42);
    const target = readlinkSync(link);
    const before = snapshot(join(link, '..'));
    const built = await builtAndSigned(ctx, VM_FC42, '1.2');
    // Staged and named in a log that is never finished: the logs VM never tickets it.
    const log = recordedLog(ctx, 'publish-unfinished');
    const staged = await stagePublish(ctx, built, log);
    await expect(completePublish(ctx, staged, '', undefined, { timeoutMs: 2500 })).rejects.toThrow(/signing current-testing\/vm\/fc42\/repodata\/repomd.xml: the keys VM still holds no ticket/);
    expect(readlinkSync(link)).toBe(target);
    expect(snapshot(join(link, '..'))).toEqual(before);
    expect(existsSync(staged.tree.dir)).toBe(false);
    await log.finish();
  }, 300_000);

  it('a failure while staging (the job stopped) leaves the published tree unchanged', async () => {
    const abort = new AbortController();
    const ctx = buildQubeContext(s, { signal: abort.signal });
    const link = publishedLink(ctx, VM_FC42);
    const before = snapshot(join(link, '..'));
    const built = await builtAndSigned(ctx, VM_FC42, '1.3');
    const log = recordedLog(ctx, 'publish-aborted');
    abort.abort();
    await expect(stagePublish(ctx, built, log)).rejects.toThrow(/the job was stopped/);
    await log.finish();
    expect(snapshot(join(link, '..'))).toEqual(before);
  }, 300_000);

  it('unsigned packages are refused before anything is staged', async () => {
    const ctx = buildQubeContext(s);
    const link = publishedLink(ctx, VM_FC42);
    const before = snapshot(join(link, '..'));
    for (const dist of [VM_FC42, VM_BOOKWORM]) {
      const built = await buildFixture(ctx, dist, '9.0'); // built and logged, never signed
      const log = recordedLog(ctx, `publish-unsigned-${dist.name}`);
      await expect(stagePublish(ctx, built, log)).rejects.toThrow(/is not signed by [0-9A-F]{40}: not published/);
      await log.finish();
    }
    expect(snapshot(join(link, '..'))).toEqual(before);
  }, 300_000);

  it('two publications staged from the same tree: the second swap is refused, the first stays published', async () => {
    const ctx = buildQubeContext(s);
    const link = publishedLink(ctx, VM_FC42);
    const a = await builtAndSigned(ctx, VM_FC42, '1.4');
    const b = await builtAndSigned(buildQubeContext(s), VM_FC42, '1.5');
    const logA = recordedLog(ctx, 'publish-a');
    const logB = recordedLog(ctx, 'publish-b');
    const sa = await stagePublish(ctx, a, logA);
    const sb = await stagePublish(ctx, b, logB);
    await completePublish(ctx, sa, await logA.finish());
    const published = readlinkSync(link);
    await expect(completePublish(ctx, sb, await logB.finish())).rejects.toThrow(/changed while this tree was staged: not replaced/);
    expect(readlinkSync(link)).toBe(published);
    expect(existsSync(sb.tree.dir)).toBe(false);
    expect(readdirSync(join(realpathSync(link), 'rpm'))).not.toContain('qbuild-fixture-1.5-1.fc42.noarch.rpm');
    abandonPublish(sb); // idempotent
  }, 300_000);

  it('Debian: pool + dists/bookworm-testing staged, InRelease and Release.gpg signed, swapped in; gpgv and apt-get update + download accept it', async () => {
    // The pipeline's order: the .changes is signed in `release`, after the publish stage.
    const ctx = buildQubeContext(s);
    const built = await buildFixture(ctx, VM_BOOKWORM, '1.0');
    const signLog = recordedLog(ctx, 'sign-vm-bookworm');
    const pending = await signStage(ctx, built, signLog);
    await signLog.finish();
    const log = recordedLog(ctx, 'publish-vm-bookworm');
    const staged = await stagePublish(ctx, built, log);
    const release = join(staged.tree.dir, 'dists', 'bookworm-testing', 'Release');
    const text = readFileSync(release);
    expect(log.text()).toContain(`manifest clearsign ${formDigest('clearsign', text)} deb/vm/dists/bookworm-testing/InRelease`);
    expect(log.text()).toContain(`manifest binary ${formDigest('binary', text)} deb/vm/dists/bookworm-testing/Release.gpg`);
    const publishLog = await log.finish();
    await signChanges(ctx, pending);
    const p = await completePublish(ctx, staged, publishLog);
    const link = publishedLink(ctx, VM_BOOKWORM);
    expect(p.repoDir).toBe(join(s.sim.stateDir('build-fedora'), 'repository', 'deb', 'r4.3', 'vm'));
    const set = publishedTree(link);
    const suite = join(set, 'dists', 'bookworm-testing');
    const rel = readFileSync(join(suite, 'Release'), 'utf8');
    for (const l of ['Origin: Qubes OS Debian', 'Label: Qubes Debian (updates candidates)', 'Codename: bookworm-testing', 'Components: main', 'Architectures: amd64 source']) {
      expect(rel.split('\n')).toContain(l);
    }
    expect(readdirSync(join(set, 'pool', 'main', 'q', 'qbuild-fixture')).sort()).toEqual([
      'qbuild-fixture_1.0+deb12u1.dsc', 'qbuild-fixture_1.0+deb12u1.tar.xz', 'qbuild-fixture_1.0+deb12u1_all.deb', 'qbuild-fixture_1.0+deb12u1_amd64.buildinfo',
    ]);
    const work = tmp();
    expect(await gpgvVerdict(join(suite, 'InRelease'), undefined, s.pubKeyFile, work)).toMatch(/^Good signature from/);
    expect(await gpgvVerdict(join(suite, 'Release.gpg'), join(suite, 'Release'), s.pubKeyFile, work)).toMatch(/^Good signature from/);
    expect(await gpgvVerdict(join(set, 'pool', 'main', 'q', 'qbuild-fixture', 'qbuild-fixture_1.0+deb12u1.dsc'), undefined, s.pubKeyFile, work)).toMatch(/^Good signature from/);
    const deb = await aptVerdict(link, 'bookworm-testing', s.pubKeyFile, 'qbuild-fixture', mkdtempSync(join(work, 'apt-')));
    expect(readFileSync(deb).equals(readFileSync(built.artifacts.find((a) => a.kind === 'deb')!.path))).toBe(true);
  }, 300_000);

  it('Debian: another suite of the set publishes the same version beside it in the shared pool (its own +deb13u1 names), a newer version replaces the suite\'s entry', async () => {
    const ctx = buildQubeContext(s);
    const trixie = { name: 'vm-trixie', set: 'vm' as const, dist: 'trixie', format: 'deb' as const };
    const link = publishedLink(ctx, VM_BOOKWORM);
    const bookwormInRelease = readFileSync(join(link, 'dists', 'bookworm-testing', 'InRelease'));
    // The clash of one pool file published twice with other bytes: test/roles/build/recipes/deb-dists.test.ts.
    for (const [dist, version] of [[trixie, '1.0'], [VM_BOOKWORM, '1.1']] as const) {
      const built = await builtAndSigned(buildQubeContext(s), dist, version);
      const log = recordedLog(ctx, `publish-${dist.name}`);
      const staged = await stagePublish(ctx, built, log);
      await completePublish(ctx, staged, await log.finish());
    }
    const set = publishedTree(link);
    const pkgs = (suite: string) => readFileSync(join(set, 'dists', suite, 'main', 'binary-amd64', 'Packages'), 'utf8').split('\n').filter((l) => l.startsWith('Filename: '));
    expect(pkgs('bookworm-testing')).toEqual(['Filename: pool/main/q/qbuild-fixture/qbuild-fixture_1.1+deb12u1_all.deb']);
    expect(pkgs('trixie-testing')).toEqual(['Filename: pool/main/q/qbuild-fixture/qbuild-fixture_1.0+deb13u1_all.deb']);
    expect(readdirSync(join(set, 'pool', 'main', 'q', 'qbuild-fixture')).filter((n) => n.endsWith('.deb')).sort())
      .toEqual(['qbuild-fixture_1.0+deb12u1_all.deb', 'qbuild-fixture_1.0+deb13u1_all.deb', 'qbuild-fixture_1.1+deb12u1_all.deb']);
    expect(readFileSync(join(set, 'dists', 'bookworm-testing', 'InRelease')).equals(bookwormInRelease)).toBe(false);
    const work = tmp();
    for (const suite of ['bookworm-testing', 'trixie-testing']) {
      expect(await gpgvVerdict(join(set, 'dists', suite, 'InRelease'), undefined, s.pubKeyFile, work)).toMatch(/^Good signature from/);
    }
    const deb = await aptVerdict(link, 'bookworm-testing', s.pubKeyFile, 'qbuild-fixture', mkdtempSync(join(work, 'apt-')));
    expect(basename(deb)).toBe('qbuild-fixture_1.1+deb12u1_all.deb');
    const old = await aptVerdict(link, 'trixie-testing', s.pubKeyFile, 'qbuild-fixture', mkdtempSync(join(work, 'apt-')));
    expect(basename(old)).toBe('qbuild-fixture_1.0+deb13u1_all.deb');
  }, 300_000);
});
