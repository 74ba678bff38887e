import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptVerdict, gpgvVerdict } from '../../../../src/demo/verdicts.js';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import { buildStage } from '../../../../src/roles/build/stages/build.js';
import { completePublish, publishedLink, publishedTree, stagePublish } from '../../../../src/roles/build/stages/publish.js';
import { signChanges, signStage } from '../../../../src/roles/build/stages/sign.js';
import type { BuiltDist, ComponentConfig, Dist, SourceCheckout, StageContext } from '../../../../src/roles/build/pipeline/types.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { buildQubeContext, recordedLog, startSigningSim, VM_BOOKWORM, type SigningSim } from '../repo/signing-sim.js';
import { fixtureCheckout } from './fixture-checkout.js';

/**
 * Two Debian dists of one package set, as one job builds them: one source, built for
 * vm-bookworm and vm-trixie, signed, then each published and released (the pipeline's order:
 * every dist built and signed before any is published) into the set's one shared pool.
 */
const VM_TRIXIE: Dist = { name: 'vm-trixie', set: 'vm', dist: 'trixie', format: 'deb' };
const POOL = ['pool', 'main', 'q', 'qbuild-fixture'];
const tmp = tempDirs('qb-deb-dists-');

const component: ComponentConfig = {
  name: 'qbuild-fixture', url: 'http://127.0.0.1/unused', branch: 'main', recipes: [{ kind: 'deb' }], maintainers: [],
  minSignatures: 1, timeoutSeconds: 600, outputCapBytes: 64 << 20,
};

/** build-DIST for each dist, then sign-DIST for each: what runJob does before publishing. */
async function buildAndSign(ctx: StageContext, src: SourceCheckout, dists: Dist[]) {
  const built: BuiltDist[] = [];
  for (const dist of dists) {
    const log = ctx.openLog(`build-${dist.name}`);
    const artifacts = await buildStage(ctx, src, component, dist, log, new LocalExecutor());
    built.push({ dist, artifacts, logPath: await log.finish() });
  }
  const pending = [];
  for (const b of built) {
    const log = recordedLog(ctx, `sign-${b.dist.name}`);
    pending.push(await signStage(ctx, b, log));
    await log.finish();
  }
  return { built, pending };
}

/** publish-DIST then release-DIST (the .changes signed, the metadata signed, the tree swapped in). */
async function publishAndRelease(ctx: StageContext, b: BuiltDist, pending: Awaited<ReturnType<typeof signStage>>): Promise<void> {
  const log = recordedLog(ctx, `publish-${b.dist.name}`);
  const staged = await stagePublish(ctx, b, log);
  const publishLog = await log.finish();
  const release = recordedLog(ctx, `release-${b.dist.name}`);
  await signChanges(ctx, pending, release);
  await completePublish(ctx, staged, publishLog, release);
  await release.finish();
}

const names = (b: BuiltDist, kind: string) => b.artifacts.filter((a) => a.kind === kind).map((a) => basename(a.path));
const indexField = (set: string, suite: string, index: string, field: string) =>
  readFileSync(join(set, 'dists', suite, 'main', index), 'utf8').split('\n').filter((l) => l.startsWith(`${field}: `)).map((l) => l.slice(field.length + 2));

describe('deb recipe: two dists of one set publish side by side', () => {
  let s: SigningSim;
  beforeAll(async () => { s = await startSigningSim(); }, 120_000);
  afterAll(async () => { await s?.down(); });

  it('one native source for vm-bookworm and vm-trixie: distinct files in the pool, each suite lists its own, InRelease verifies, apt gets each dist\'s build', async () => {
    const ctx = buildQubeContext(s);
    const src = fixtureCheckout(tmp(), '3.1', 'native');
    const { built, pending } = await buildAndSign(ctx, src, [VM_BOOKWORM, VM_TRIXIE]);
    const [bookworm, trixie] = built as [BuiltDist, BuiltDist];
    // The recipe's outputs: every .deb, .dsc and .changes named for its own dist.
    for (const kind of ['deb', 'dsc', 'changes']) {
      expect(names(bookworm, kind)).toHaveLength(1);
      expect(names(bookworm, kind)[0]).toMatch(/^qbuild-fixture_3\.1\+deb12u1[._]/);
      expect(names(trixie, kind)[0]).toMatch(/^qbuild-fixture_3\.1\+deb13u1[._]/);
    }
    const changes = (b: BuiltDist) => readFileSync(b.artifacts.find((a) => a.kind === 'changes')!.path, 'utf8');
    expect(changes(bookworm)).toMatch(/^Distribution: bookworm$/m);
    expect(changes(trixie)).toMatch(/^Distribution: trixie$/m);

    for (const [i, b] of built.entries()) await publishAndRelease(ctx, b, pending[i]);
    for (const b of built) expect(changes(b)).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\n/); // signed in release-DIST

    const link = publishedLink(ctx, VM_TRIXIE);
    expect(publishedLink(ctx, VM_BOOKWORM)).toBe(link); // one set, one tree
    const set = publishedTree(link);
    expect(readdirSync(join(set, ...POOL)).sort()).toEqual([
      'qbuild-fixture_3.1+deb12u1.dsc', 'qbuild-fixture_3.1+deb12u1.tar.xz', 'qbuild-fixture_3.1+deb12u1_all.deb', 'qbuild-fixture_3.1+deb12u1_amd64.buildinfo',
      'qbuild-fixture_3.1+deb13u1.dsc', 'qbuild-fixture_3.1+deb13u1.tar.xz', 'qbuild-fixture_3.1+deb13u1_all.deb', 'qbuild-fixture_3.1+deb13u1_amd64.buildinfo',
    ]);
    const work = tmp();
    for (const [b, suite, tag] of [[bookworm, 'bookworm-testing', 'deb12u1'], [trixie, 'trixie-testing', 'deb13u1']] as const) {
      expect(indexField(set, suite, 'binary-amd64/Packages', 'Filename')).toEqual([`${POOL.join('/')}/qbuild-fixture_3.1+${tag}_all.deb`]);
      expect(indexField(set, suite, 'binary-amd64/Packages', 'Version')).toEqual([`3.1+${tag}`]);
      expect(indexField(set, suite, 'source/Sources', 'Version')).toEqual([`3.1+${tag}`]);
      expect(readFileSync(join(set, 'dists', suite, 'main', 'source', 'Sources'), 'utf8')).toContain(` qbuild-fixture_3.1+${tag}.dsc\n`);
      expect(await gpgvVerdict(join(set, 'dists', suite, 'InRelease'), undefined, s.pubKeyFile, work)).toMatch(/^Good signature from "Qubes OS qbuild test signing key/);
      // apt (signed-by= the release key) on this dist's suite: exactly this dist's build, byte for byte.
      const got = await aptVerdict(link, suite, s.pubKeyFile, 'qbuild-fixture', mkdtempSync(join(work, 'apt-')));
      expect(basename(got)).toBe(`qbuild-fixture_3.1+${tag}_all.deb`);
      expect(readFileSync(got).equals(readFileSync(b.artifacts.find((a) => a.kind === 'deb')!.path))).toBe(true);
      const unpacked = mkdtempSync(join(work, 'root-'));
      execFileSync('dpkg-deb', ['-x', got, unpacked]);
      expect(execFileSync('sh', [join(unpacked, 'usr', 'bin', 'qbuild-fixture')], { encoding: 'utf8' })).toBe('qbuild-fixture 3.1\n');
    }
  }, 600_000);

  it('quilt: both dists share the one .orig tarball; an orig of the same name with other bytes is still refused', async () => {
    const ctx = buildQubeContext(s);
    const src = fixtureCheckout(tmp(), '4.0', 'quilt');
    const { built, pending } = await buildAndSign(ctx, src, [VM_BOOKWORM, VM_TRIXIE]);
    for (const [i, b] of built.entries()) await publishAndRelease(ctx, b, pending[i]);
    const set = publishedTree(publishedLink(ctx, VM_BOOKWORM));
    const pool = readdirSync(join(set, ...POOL)).filter((n) => n.startsWith('qbuild-fixture_4.0'));
    expect(pool.filter((n) => !n.endsWith('.buildinfo')).sort()).toEqual([
      'qbuild-fixture_4.0-1+deb12u1.debian.tar.xz', 'qbuild-fixture_4.0-1+deb12u1.dsc', 'qbuild-fixture_4.0-1+deb12u1_all.deb',
      'qbuild-fixture_4.0-1+deb13u1.debian.tar.xz', 'qbuild-fixture_4.0-1+deb13u1.dsc', 'qbuild-fixture_4.0-1+deb13u1_all.deb',
      'qbuild-fixture_4.0.orig.tar.gz',
    ]);
    for (const suite of ['bookworm-testing', 'trixie-testing']) {
      expect(readFileSync(join(set, 'dists', suite, 'main', 'source', 'Sources'), 'utf8')).toContain(' qbuild-fixture_4.0.orig.tar.gz\n');
    }

    // The same version from another commit (other upstream bytes), for trixie only: its orig
    // tarball has bookworm's name, so publishing it would change a file bookworm-testing lists.
    const root = tmp();
    const other = fixtureCheckout(root, '4.0', 'quilt');
    writeFileSync(join(other.dir, 'README'), 'qbuild-fixture 4.0, retagged\n');
    const git = (...a: string[]) => execFileSync('git', ['-C', other.dir, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a], { encoding: 'utf8' }).trim();
    git('commit', '-q', '-am', 'retag');
    const retagged = { ...other, commit: git('rev-parse', 'HEAD') };
    const before = readFileSync(join(set, 'dists', 'bookworm-testing', 'InRelease'));
    const again = await buildAndSign(buildQubeContext(s), retagged, [VM_TRIXIE]);
    const log = recordedLog(ctx, 'publish-vm-trixie');
    await expect(stagePublish(ctx, again.built[0]!, log)).rejects.toThrow(/qbuild-fixture_4\.0\.orig\.tar\.gz is published for bookworm-testing with other content/);
    await log.finish();
    expect(publishedTree(publishedLink(ctx, VM_BOOKWORM))).toBe(set);
    expect(readFileSync(join(set, 'dists', 'bookworm-testing', 'InRelease')).equals(before)).toBe(true);
  }, 600_000);
});
