import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptVerdict, dnfVerdict, gpgvVerdict } from '../../../src/demo/verdicts.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';
import { SimTransport } from '../../../src/protocol/qrexec/transport-sim.js';
import { LocalExecutor } from '../../../src/roles/build/executor/local.js';
import { JobRun } from '../../../src/roles/build/pipeline/job-run.js';
import type { BuiltDist, ComponentConfig, Dist, StageContext } from '../../../src/roles/build/pipeline/types.js';
import { runUploadComponent, uploadComponentRefusal, type UploadComponentCommand } from '../../../src/roles/build/promote/upload-component.js';
import { reportQueueDir } from '../../../src/roles/build/report/queue.js';
import { completePublish, publishedFiles, publishedLink, publishedTree, stagePublish } from '../../../src/roles/build/stages/publish.js';
import { signChanges, signStage } from '../../../src/roles/build/stages/sign.js';
import { loadBuilt, recordBuilt } from '../../../src/roles/build/state/built-versions.js';
import type { JobRecord } from '../../../src/roles/build/state/job-record.js';
import { buildPaths, type BuildPaths } from '../../../src/roles/build/state/paths.js';
import { tempDirs } from '../../helpers/tmp.js';
import { BUILD_VM, VM_BOOKWORM, VM_FC42, buildFixture, buildQubeContext, recordedLog, startSigningSim, type SigningSim } from './repo/signing-sim.js';

// Upload-component through the simulator's logs and keys qubes with real tools: a version
// published to current-testing as the pipeline does it, then promoted by runUploadComponent,
// judged by gpgv, dnf and apt as users run them.
const COMPONENT = 'qbuild-fixture';
const DAY = 86_400_000;
const commitOf = (version: string) => createHash('sha1').update(`commit of ${version}`).digest('hex');

/** Every file under `dir` (symlinks not followed) with its sha256: a repository's exact content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isSymbolicLink()) out[relative(dir, p)] = `-> ${readlinkSync(p)}`;
      else if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('Upload-component (promotion from current-testing)', () => {
  let s: SigningSim;
  let paths: BuildPaths;
  const tmp = tempDirs('qb-promote-');
  beforeAll(async () => {
    s = await startSigningSim();
    paths = buildPaths(s.sim.stateDir(BUILD_VM));
  }, 120_000);
  afterAll(async () => { await s?.down(); });

  const component: ComponentConfig = {
    name: COMPONENT, url: 'http://127.0.0.1/unused', branch: 'main', recipes: [{ kind: 'rpm' }, { kind: 'deb' }], maintainers: [],
    minSignatures: 1, timeoutSeconds: 600, outputCapBytes: 64 << 20,
  };
  const context = (): StageContext => {
    const ctx = buildQubeContext(s);
    ctx.config.components = [component];
    return ctx;
  };

  /** As the pipeline: build, sign, publish to current-testing, release; records the version `agoMs` back. */
  async function publishToTesting(dist: Dist, version: string, agoMs: number): Promise<BuiltDist> {
    const ctx = context();
    const built = await buildFixture(ctx, dist, version);
    const signLog = recordedLog(ctx, `sign-${dist.name}`);
    const pending = await signStage(ctx, built, signLog);
    await signLog.finish();
    const log = recordedLog(ctx, `publish-${dist.name}`);
    const staged = await stagePublish(ctx, built, log);
    const publishLog = await log.finish();
    if (pending) await signChanges(ctx, pending);
    await completePublish(ctx, staged, publishLog);
    recordBuilt(paths, COMPONENT, dist.name, {
      version, commit: commitOf(version), at: new Date(Date.now() - agoMs).toISOString(), job: `test-${version}`, files: publishedFiles(built),
    });
    return built;
  }

  /** Runs the command as the build daemon's command job does: a JobRun of the build qube. */
  async function promote(cmd: UploadComponentCommand): Promise<JobRecord> {
    const ctx = context();
    const job: JobRecord = { id: `promote-${Date.now()}`, component: COMPONENT, from: 'test', queuedAt: new Date().toISOString(), state: 'running', attempt: 1, stages: [] };
    const run = new JobRun(job, {
      config: ctx.config, paths, transport: new SimTransport(simPaths(s.sim.dir).qube(BUILD_VM).socket), env: ctx.env,
      qbuildBin: s.sim.bin, executor: new LocalExecutor(), signal: new AbortController().signal, say: () => {},
    }, ctx.workDir);
    await runUploadComponent(run, cmd);
    return job;
  }

  const upload = (version: string, repository: 'current' | 'security-testing', dists: 'all' | string[]): UploadComponentCommand =>
    ({ kind: 'upload-component', release: 'r4.3', component: COMPONENT, commit: commitOf(version), repository, dists });
  const rpmsIn = (repository: 'current-testing' | 'current' | 'security-testing') => {
    const link = publishedLink(context(), VM_FC42, repository);
    return existsSync(link) ? readdirSync(join(link, 'rpm')).sort() : [];
  };
  const storedLog = (path: string) => readFileSync(join(s.sim.stateDir('logs'), 'store', path), 'utf8');

  it('RPM: refusals change nothing; exactly the built version moves to current, signed (gpgv), dnf installs it, testing keeps it', async () => {
    await publishToTesting(VM_FC42, '1.0', 6 * DAY);
    const ctx = context();
    const now = new Date();
    const refusal = (c: Partial<UploadComponentCommand>, at = now) => uploadComponentRefusal(paths, ctx.config, { ...upload('1.0', 'current', ['vm-fc42']), ...c }, at);
    expect(refusal({ commit: commitOf('0.9') })).toBe(`vm-fc42: the built commit of ${COMPONENT} is ${commitOf('1.0')} (1.0), not ${commitOf('0.9')}`);
    expect(refusal({ dists: ['vm-fc41'] })).toBe('vm-fc41 is not a dist of env fedora (vm-fc42, vm-bookworm)');
    expect(refusal({ dists: ['vm-bookworm'] })).toBe(`${COMPONENT} was never built for vm-bookworm`);
    expect(refusal({ release: 'r4.2' })).toBe("release r4.2 is not this env's (fedora builds r4.3)");
    expect(refusal({ component: 'core-admin' })).toBe('core-admin is not a component of env fedora');
    expect(refusal({}, new Date(now.getTime() - 2 * DAY))).toBe(`vm-fc42: ${COMPONENT} 1.0 has been in current-testing for 96 h, less than min-age-days (5)`);
    expect(refusal({})).toBeUndefined();
    expect(rpmsIn('current')).toEqual([]);

    const job = await promote(upload('1.0', 'current', 'all'));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['promote-vm-fc42:ok', 'promote-release-vm-fc42:ok', 'upload:ok']);
    expect(rpmsIn('current')).toEqual(['qbuild-fixture-1.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.0-1.fc42.src.rpm']);
    expect(rpmsIn('current-testing')).toEqual(rpmsIn('current'));
    const link = publishedLink(ctx, VM_FC42, 'current');
    const tree = publishedTree(link);
    // The same bytes users tested: a hard link of current-testing's file.
    const testing = publishedTree(publishedLink(ctx, VM_FC42));
    expect(readFileSync(join(tree, 'rpm', 'qbuild-fixture-1.0-1.fc42.noarch.rpm')).equals(readFileSync(join(testing, 'rpm', 'qbuild-fixture-1.0-1.fc42.noarch.rpm')))).toBe(true);
    // The gate: the new repomd.xml was named in the promote log before it was signed.
    const repomd = readFileSync(join(tree, 'repodata', 'repomd.xml'));
    expect(storedLog(job.stages[0]!.log!)).toContain(`qbuild-sign sha256:${createHash('sha256').update(repomd).digest('hex')} current/vm/fc42/repodata/repomd.xml`);
    const work = tmp();
    expect(await gpgvVerdict(join(tree, 'repodata', 'repomd.xml.asc'), join(tree, 'repodata', 'repomd.xml'), s.pubKeyFile, work)).toMatch(/^Good signature from "Qubes OS qbuild test signing key/);
    expect(basename(await dnfVerdict(link, s.pubKeyFile, COMPONENT, '42', mkdtempSync(join(work, 'dnf-'))))).toBe('qbuild-fixture-1.0-1.fc42.noarch.rpm');
    // Reported for GitHub (REPORT's queue).
    const queued = readdirSync(reportQueueDir(paths)).filter((n) => !n.startsWith('.')).map((n) => JSON.parse(readFileSync(join(reportQueueDir(paths), n), 'utf8')) as { event: unknown });
    expect(queued.map((q) => q.event)).toContainEqual({ kind: 'uploaded', component: COMPONENT, version: '1.0', release: 'r4.3', dist: 'vm-fc42', repository: 'current', logPath: job.stages[2]!.log });
    // The same command again: idempotent, says so.
    expect(refusal({})).toBe(`${COMPONENT} 1.0 is already in current for vm-fc42`);
  }, 300_000);

  it('RPM: a newer version in testing does not move until promoted; then the older one in current stays', async () => {
    const before = snapshot(publishedTree(publishedLink(context(), VM_FC42, 'current')));
    await publishToTesting(VM_FC42, '1.1', 0);
    const ctx = context();
    expect(uploadComponentRefusal(paths, ctx.config, upload('1.1', 'current', ['vm-fc42']), new Date())).toMatch(/1\.1 has been in current-testing for 0 h, less than min-age-days \(5\)$/);
    // The old version's command no longer names what current-testing holds.
    expect(uploadComponentRefusal(paths, ctx.config, upload('1.0', 'current', ['vm-fc42']), new Date())).toMatch(/the built commit .* \(1\.1\), not /);
    await expect(promote(upload('1.1', 'current', ['vm-fc42']))).rejects.toThrow(/Upload-component refused: .*less than min-age-days/);
    expect(snapshot(publishedTree(publishedLink(ctx, VM_FC42, 'current')))).toEqual(before);

    // security-testing has no minimum age (as upstream); current is untouched by it.
    await promote(upload('1.1', 'security-testing', ['vm-fc42']));
    expect(rpmsIn('security-testing')).toEqual(['qbuild-fixture-1.1-1.fc42.noarch.rpm', 'qbuild-fixture-1.1-1.fc42.src.rpm']);
    expect(snapshot(publishedTree(publishedLink(ctx, VM_FC42, 'current')))).toEqual(before);

    // Six days later (the record's time moved back), 1.1 goes to current beside 1.0.
    const b = loadBuilt(paths, COMPONENT)['vm-fc42']!;
    recordBuilt(paths, COMPONENT, 'vm-fc42', { ...b, at: new Date(Date.now() - 6 * DAY).toISOString() });
    await promote(upload('1.1', 'current', ['vm-fc42']));
    expect(rpmsIn('current')).toEqual([
      'qbuild-fixture-1.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.0-1.fc42.src.rpm', 'qbuild-fixture-1.1-1.fc42.noarch.rpm', 'qbuild-fixture-1.1-1.fc42.src.rpm',
    ]);
    const link = publishedLink(ctx, VM_FC42, 'current');
    const work = tmp();
    expect(await gpgvVerdict(join(link, 'repodata', 'repomd.xml.asc'), join(link, 'repodata', 'repomd.xml'), s.pubKeyFile, work)).toMatch(/^Good signature/);
    expect(basename(await dnfVerdict(link, s.pubKeyFile, COMPONENT, '42', mkdtempSync(join(work, 'dnf-'))))).toBe('qbuild-fixture-1.1-1.fc42.noarch.rpm');
  }, 400_000);

  it('Debian: the version goes into suite bookworm of the same set (InRelease verifies, apt reads it), bookworm-testing stays', async () => {
    const built = await publishToTesting(VM_BOOKWORM, '1.0', 6 * DAY);
    const ctx = context();
    const link = publishedLink(ctx, VM_BOOKWORM);
    const testingBefore = snapshot(join(publishedTree(link), 'dists', 'bookworm-testing'));
    const job = await promote(upload('1.0', 'current', ['vm-bookworm']));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['promote-vm-bookworm:ok', 'promote-release-vm-bookworm:ok', 'upload:ok']);
    const set = publishedTree(link);
    expect(snapshot(join(set, 'dists', 'bookworm-testing'))).toEqual(testingBefore);
    const suite = join(set, 'dists', 'bookworm');
    const release = readFileSync(join(suite, 'Release'), 'utf8');
    expect(release.split('\n')).toContain('Codename: bookworm');
    expect(storedLog(job.stages[0]!.log!)).toMatch(/qbuild-sign clearsign-sha256:[0-9a-f]{64} deb\/vm\/dists\/bookworm\/InRelease/);
    const work = tmp();
    expect(await gpgvVerdict(join(suite, 'InRelease'), undefined, s.pubKeyFile, work)).toMatch(/^Good signature from/);
    expect(await gpgvVerdict(join(suite, 'Release.gpg'), join(suite, 'Release'), s.pubKeyFile, work)).toMatch(/^Good signature from/);
    const deb = await aptVerdict(link, 'bookworm', s.pubKeyFile, COMPONENT, mkdtempSync(join(work, 'apt-')));
    expect(readFileSync(deb).equals(readFileSync(built.artifacts.find((a) => a.kind === 'deb')!.path))).toBe(true);
    const sources = readFileSync(join(suite, 'main', 'source', 'Sources'), 'utf8');
    expect(sources).toMatch(/^Package: qbuild-fixture$/m);
    expect(sources).toMatch(/^Version: 1\.0\+deb12u1$/m); // the deb recipe's bookworm build of 1.0
  }, 300_000);

  it('refuses a recorded file that leads out of the tree: nothing staged, current unchanged', async () => {
    const ctx = context();
    const before = snapshot(publishedTree(publishedLink(ctx, VM_FC42, 'current')));
    const b = loadBuilt(paths, COMPONENT)['vm-fc42']!;
    recordBuilt(paths, COMPONENT, 'vm-fc42', { ...b, version: '9.9', commit: commitOf('9.9'), files: ['rpm/../../../../etc/passwd'] });
    await expect(promote(upload('9.9', 'current', ['vm-fc42']))).rejects.toThrow(/promote-vm-fc42: vm-fc42: recorded file "rpm\/\.\.\/.*" is not a path inside the tree/);
    expect(snapshot(publishedTree(publishedLink(ctx, VM_FC42, 'current')))).toEqual(before);
  }, 120_000);
});
