import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnfVerdict, gpgvVerdict, rpmKeysVerdict } from '../../../src/demo/verdicts.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';
import { SimTransport } from '../../../src/protocol/qrexec/transport-sim.js';
import { rpmSignDigest } from '../../../src/protocol/rpm/header-blob.js';
import { LocalExecutor } from '../../../src/roles/build/executor/local.js';
import { JobRun } from '../../../src/roles/build/pipeline/job-run.js';
import type { StageContext } from '../../../src/roles/build/pipeline/types.js';
import {
  buildIsoRefusal, buildTemplateRefusal, runBuildIso, runBuildTemplate, runUploadTemplate, uploadTemplateRefusal,
  type BuildIsoCommand, type BuildTemplateCommand, type UploadTemplateCommand,
} from '../../../src/roles/build/promote/images.js';
import type { ImageEvent } from '../../../src/roles/build/report/events.js';
import { loadImages } from '../../../src/roles/build/promote/image-records.js';
import { listQueued, removeQueued } from '../../../src/roles/build/report/queue.js';
import { repositoryRoot } from '../../../src/roles/build/stages/publish.js';
import type { JobRecord } from '../../../src/roles/build/state/job-record.js';
import { buildPaths, type BuildPaths } from '../../../src/roles/build/state/paths.js';
import { run } from '../../helpers/run.js';
import { templateRecipe } from '../../helpers/template-recipe.js';
import { tempDirs } from '../../helpers/tmp.js';
import { BUILD_VM, buildQubeContext, startSigningSim, type SigningSim } from './repo/signing-sim.js';

// Build-template, Upload-template and Build-iso: configured recipes run through the logged,
// gated steps (the simulator's logs and keys qubes); a template is a real RPM (rpmbuild),
// judged with rpmkeys, gpgv and dnf against its templates RPM repository; the ISO with gpgv
// and sha256sum.
const TEMPLATE = 'fedora-42-xfce';
const RPM = (ts: string, name = TEMPLATE) => `qubes-template-${name}-4.3.0-${ts}.noarch.rpm`;
const isoRecipe = ['sh', '-c', 'mkdir "$OUTPUT_DIR/iso"; echo "installer $ISO_VERSION" > "$OUTPUT_DIR/iso/Qubes-$ISO_VERSION-x86_64.iso"'];

describe('image commands (templates, ISO)', () => {
  let s: SigningSim;
  let paths: BuildPaths;
  const tmp = tempDirs('qb-images-');
  let recipes: string;
  beforeAll(async () => {
    recipes = mkdtempSync(join(tmpdir(), 'qb-image-recipes-'));
    s = await startSigningSim();
    paths = buildPaths(s.sim.stateDir(BUILD_VM));
  }, 120_000);
  afterAll(async () => {
    await s?.down();
    if (recipes) rmSync(recipes, { recursive: true, force: true });
  });

  const context = (iso = true): StageContext => {
    const ctx = buildQubeContext(s);
    ctx.config.templates = [{ name: TEMPLATE, argv: templateRecipe(recipes) }];
    if (iso) ctx.config.iso = { argv: isoRecipe };
    // Uploads right after the build (the min-age-days rule has its own test).
    ctx.config.minAgeDays = 0;
    return ctx;
  };
  async function command(ctx: StageContext, f: (r: JobRun) => Promise<void>): Promise<JobRecord> {
    const job: JobRecord = { id: `image-${Date.now()}`, component: 'images', from: 'test', queuedAt: new Date().toISOString(), state: 'running', attempt: 1, stages: [] };
    const r = new JobRun(job, {
      config: ctx.config, paths, transport: new SimTransport(simPaths(s.sim.dir).qube(BUILD_VM).socket), env: ctx.env,
      qbuildBin: s.sim.bin, executor: new LocalExecutor(), signal: new AbortController().signal, say: () => {},
    }, ctx.workDir);
    await f(r);
    return job;
  }
  const storedLog = (path: string) => readFileSync(join(s.sim.stateDir('logs'), 'store', path), 'utf8');
  const verifiedSums = async (dir: string) => {
    expect(await gpgvVerdict(join(dir, 'SHA256SUMS.asc'), join(dir, 'SHA256SUMS'), s.pubKeyFile, tmp())).toMatch(/^Good signature from/);
    const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir });
    expect(check.code).toBe(0);
    return check.stdout.toString();
  };

  /** What a template repository's user sees: the RPM signed by the env's key (rpmkeys), repomd.xml signed (gpgv), dnf with gpgcheck and repo_gpgcheck downloads it. */
  const verifiedRepo = async (repo: string, ts: string, name = TEMPLATE) => {
    expect(await rpmKeysVerdict(join(repo, 'rpm', RPM(ts, name)), s.pubKeyFile, tmp())).toMatch(/Signature, key ID [0-9a-f]+: OK$/);
    expect(await gpgvVerdict(join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'), s.pubKeyFile, tmp())).toMatch(/^Good signature from/);
    const got = await dnfVerdict(repo, s.pubKeyFile, `qubes-template-${name}`, '42', tmp());
    expect(got.endsWith(RPM(ts, name))).toBe(true);
    expect(readFileSync(got).equals(readFileSync(join(repo, 'rpm', RPM(ts, name))))).toBe(true);
  };
  const repoDir = (ctx: StageContext, repository: string) => join(repositoryRoot(ctx), 'rpm', 'r4.3', repository);

  it('Build-template: the RPM\'s header named in the build log, rpm-signed after its ticket, stored, published in templates-itl-testing (repomd.xml signed after its own ticket); an older or equal timestamp is refused', async () => {
    const ctx = context();
    const cmd: BuildTemplateCommand = { kind: 'build-template', release: 'r4.3', template: TEMPLATE, timestamp: '202612020100' };
    expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, template: 'debian-13' }, new Date())).toBe('template debian-13 has no recipe in env fedora');
    expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, release: 'r4.2' }, new Date())).toBe("release r4.2 is not this env's (fedora builds r4.3)");
    expect(buildTemplateRefusal(paths, ctx.config, cmd, new Date())).toBeUndefined();
    const job = await command(ctx, (r) => runBuildTemplate(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual([
      `build-template-${TEMPLATE}:ok`, `release-template-${TEMPLATE}:ok`, 'publish-templates-itl-testing:ok', 'release-templates-itl-testing:ok', 'upload:ok',
    ]);
    const dir = join(repositoryRoot(ctx), 'templates', 'r4.3', 'built', TEMPLATE, '4.3.0-202612020100');
    expect(readdirSync(dir)).toEqual([RPM('202612020100')]);
    expect(await rpmKeysVerdict(join(dir, RPM('202612020100')), s.pubKeyFile, tmp())).toMatch(/: OK$/);
    // The signature went into the signature header: the header blob the build log named is unchanged.
    expect(storedLog(job.stages[0]!.log!)).toContain(`qbuild-sign sha256:${rpmSignDigest(readFileSync(join(dir, RPM('202612020100'))))} templates/${TEMPLATE}/4.3.0-202612020100/${RPM('202612020100')}`);
    const repo = repoDir(ctx, 'templates-itl-testing');
    expect(storedLog(job.stages[2]!.log!)).toMatch(/qbuild-sign sha256:[0-9a-f]{64} templates-itl-testing\/repodata\/repomd\.xml/);
    await verifiedRepo(repo, '202612020100');
    expect(loadImages(paths, 'template', TEMPLATE).published['templates-itl-testing']?.['4.3.0-202612020100']).toMatch(/^\d{4}-/);
    expect(storedLog(job.stages[4]!.log!)).toContain('no rpm upload target configured');
    for (const ts of ['202612020100', '202612020059']) {
      expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, timestamp: ts }, new Date())).toBe(`${TEMPLATE}: timestamp ${ts} is not newer than the last build's (202612020100)`);
    }
    await expect(command(ctx, (r) => runBuildTemplate(r, cmd))).rejects.toThrow(/refused: .*not newer/);
  }, 180_000);

  it('Build-template: a recipe leaving no RPM, or a wrongly named one, is refused with one line; nothing is stored or published', async () => {
    const ctx = context();
    const before = readdirSync(join(repoDir(ctx, 'templates-itl-testing'), 'rpm'));
    const cases = [
      { argv: templateRecipe(recipes, { noRpm: true }), ts: '202612020110', why: `the template recipe must leave exactly ${RPM('202612020110')} in OUTPUT_DIR (besides VERSION); it left nothing` },
      { argv: templateRecipe(recipes, { rpmName: 'template.rpm' }), ts: '202612020111', why: `the template recipe must leave exactly ${RPM('202612020111')} in OUTPUT_DIR (besides VERSION); it left "template.rpm"` },
    ];
    for (const c of cases) {
      ctx.config.templates = [{ name: TEMPLATE, argv: c.argv }];
      let job: JobRecord | undefined;
      const err = await command(ctx, async (r) => { job = r.job; await runBuildTemplate(r, { kind: 'build-template', release: 'r4.3', template: TEMPLATE, timestamp: c.ts }); }).catch((e: Error) => e);
      expect(String((err as Error).message)).toContain(c.why);
      expect(String((err as Error).message)).not.toContain('\n');
      expect(job!.stages.map((x) => `${x.name}:${x.status}`)).toEqual([`build-template-${TEMPLATE}:failed`]);
      expect(storedLog(job!.stages[0]!.log!)).not.toMatch(/qbuild-sign /);
    }
    expect(loadImages(paths, 'template', TEMPLATE).builds.map((b) => b.timestamp)).toEqual(['202612020100']);
    expect(readdirSync(join(repoDir(ctx, 'templates-itl-testing'), 'rpm'))).toEqual(before);
  }, 180_000);

  it('Upload-template: only a version published in the -testing repository min-age-days ago, into templates-itl (it stays in testing), once', async () => {
    const ctx = context();
    const cmd: UploadTemplateCommand = { kind: 'upload-template', release: 'r4.3', template: TEMPLATE, version: '4.3.0', timestamp: '202612020100', repository: 'templates-itl' };
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, version: '4.3.1' }, new Date())).toBe(`template ${TEMPLATE} 4.3.1-202612020100 was never built`);
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, timestamp: '202612020101' }, new Date())).toBe(`template ${TEMPLATE} 4.3.0-202612020101 was never built`);
    // Upstream's can_be_published_in_stable: templates-community needs templates-community-testing.
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, repository: 'templates-community' }, new Date())).toBe(`template ${TEMPLATE} 4.3.0-202612020100 was never published in templates-community-testing`);
    expect(uploadTemplateRefusal(paths, ctx.config, cmd, new Date())).toBeUndefined();
    // min-age-days (default 5) counts from the publication in templates-itl-testing.
    const publishedAt = Date.parse(loadImages(paths, 'template', TEMPLATE).published['templates-itl-testing']!['4.3.0-202612020100']!);
    const defaults = { ...ctx.config, minAgeDays: undefined };
    expect(uploadTemplateRefusal(paths, defaults, cmd, new Date(publishedAt + 3 * 3_600_000))).toBe(`template ${TEMPLATE} 4.3.0-202612020100 was published in templates-itl-testing 3 h ago, less than min-age-days (5)`);
    expect(uploadTemplateRefusal(paths, defaults, cmd, new Date(publishedAt + 5 * 86_400_000))).toBeUndefined();
    expect(uploadTemplateRefusal(paths, { ...ctx.config, minAgeDays: 2 }, cmd, new Date(publishedAt + 47 * 3_600_000))).toMatch(/was published in templates-itl-testing 47 h ago, less than min-age-days \(2\)$/);
    await expect(command({ ...ctx, config: defaults }, (r) => runUploadTemplate(r, cmd))).rejects.toThrow(/refused: .*less than min-age-days \(5\)/);
    const job = await command(ctx, (r) => runUploadTemplate(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['publish-templates-itl:ok', 'release-templates-itl:ok', 'upload:ok']);
    await verifiedRepo(repoDir(ctx, 'templates-itl'), '202612020100');
    await verifiedRepo(repoDir(ctx, 'templates-itl-testing'), '202612020100');
    expect(uploadTemplateRefusal(paths, ctx.config, cmd, new Date())).toBe(`template ${TEMPLATE} 4.3.0-202612020100 is already in templates-itl`);
  }, 180_000);

  it('a template whose pillar says repository templates-community: built into templates-community-testing, uploadable to templates-community only', async () => {
    const ctx = context();
    const name = 'whonix-17';
    ctx.config.templates = [{ name, argv: templateRecipe(recipes), repository: 'templates-community' }];
    const job = await command(ctx, (r) => runBuildTemplate(r, { kind: 'build-template', release: 'r4.3', template: name, timestamp: '202612020120' }));
    expect(job.stages.map((x) => x.name)).toEqual([`build-template-${name}`, `release-template-${name}`, 'publish-templates-community-testing', 'release-templates-community-testing', 'upload']);
    const repo = repoDir(ctx, 'templates-community-testing');
    expect(readdirSync(join(repo, 'rpm'))).toEqual([`qubes-template-${name}-4.3.0-202612020120.noarch.rpm`]);
    expect(await gpgvVerdict(join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'), s.pubKeyFile, tmp())).toMatch(/^Good signature from/);
    const up: UploadTemplateCommand = { kind: 'upload-template', release: 'r4.3', template: name, version: '4.3.0', timestamp: '202612020120', repository: 'templates-itl' };
    expect(uploadTemplateRefusal(paths, ctx.config, up, new Date())).toBe(`template ${name} 4.3.0-202612020120 was never published in templates-itl-testing`);
    expect(uploadTemplateRefusal(paths, ctx.config, { ...up, repository: 'templates-community' }, new Date())).toBeUndefined();
  }, 180_000);

  it('Build-template stopped after storing, before its testing publication: the same command resumes with the publication only; once published it is refused', async () => {
    const ctx = context();
    const name = 'whonix-17';
    ctx.config.templates = [{ name, argv: templateRecipe(recipes), repository: 'templates-community' }];
    const cmd: BuildTemplateCommand = { kind: 'build-template', release: 'r4.3', template: name, timestamp: '202612020120' };
    // As a daemon stopped between release-template and release-templates-community-testing leaves the record.
    const file = join(paths.root, 'images', `template-${name}.json`);
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { published: Record<string, unknown> };
    rec.published = {};
    writeFileSync(file, JSON.stringify(rec));
    expect(buildTemplateRefusal(paths, ctx.config, cmd, new Date())).toBeUndefined();
    expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, timestamp: '202612020119' }, new Date())).toMatch(/is not newer than the last build's \(202612020120\)$/);
    const job = await command(ctx, (r) => runBuildTemplate(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['publish-templates-community-testing:ok', 'release-templates-community-testing:ok', 'upload:ok']);
    expect(loadImages(paths, 'template', name).builds.map((b) => b.timestamp)).toEqual(['202612020120']);
    expect(loadImages(paths, 'template', name).published['templates-community-testing']?.['4.3.0-202612020120']).toMatch(/^\d{4}-/);
    await verifiedRepo(repoDir(ctx, 'templates-community-testing'), '202612020120', name);
    expect(buildTemplateRefusal(paths, ctx.config, cmd, new Date())).toBe(`${name}: timestamp 202612020120 is not newer than the last build's (202612020120)`);
  }, 180_000);

  it('Build-iso: refused without a recipe; with one, the ISO and its signed SHA256SUMS in iso/r4.3/VERSION-TIMESTAMP', async () => {
    const cmd: BuildIsoCommand = { kind: 'build-iso', release: 'r4.3', version: '4.3.1', timestamp: '202612020200' };
    expect(buildIsoRefusal(paths, context(false).config, cmd, new Date())).toBe('env fedora has no ISO recipe');
    const ctx = context();
    const job = await command(ctx, (r) => runBuildIso(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual(['build-iso:ok', 'release-iso:ok', 'upload:ok']);
    const dir = join(repositoryRoot(ctx), 'iso', 'r4.3', '4.3.1-202612020200');
    expect(await verifiedSums(dir)).toBe('iso/Qubes-4.3.1-x86_64.iso: OK\n');
    expect(buildIsoRefusal(paths, ctx.config, { ...cmd, version: '4.3.2' }, new Date())).toBe("the ISO: timestamp 202612020200 is not newer than the last build's (202612020200)");
  }, 180_000);
  /** The image events queued since the last call (and takes them out of the queue). */
  const takeQueued = (): ImageEvent[] => listQueued(paths).map((q) => {
    removeQueued(q.file);
    return 'report' in q ? q.report.event as ImageEvent : (() => { throw new Error(q.bad); })();
  });
  const reporting = (ctx: StageContext): StageContext => {
    ctx.config.github = { apiUrl: 'https://api.github.com', tokenFile: '/nonexistent', statusRepo: 'QubesOS/updates-status', issuesRepo: 'QubesOS/qubes-issues', logsUrl: null, retryBaseMs: 1000, retryMaxMs: 300_000 };
    return ctx;
  };

  it('reports (docs/reports.md): none with reporting off; a template\'s building and built on its version, a failure before VERSION on the last version, the ISO\'s steps', async () => {
    expect(listQueued(paths)).toEqual([]); // the tests above ran with reporting off
    const T = { image: 'template', name: TEMPLATE, release: 'r4.3' } as const;
    const ctx = reporting(context());
    const job = await command(ctx, (r) => runBuildTemplate(r, { kind: 'build-template', release: 'r4.3', template: TEMPLATE, timestamp: '202612020300' }));
    const buildLog = job.stages.find((x) => x.name === `build-template-${TEMPLATE}`)!.log!;
    expect(takeQueued()).toEqual([
      { kind: 'image-building', ...T, version: '4.3.0-202612020300' },
      { kind: 'image-built', ...T, version: '4.3.0-202612020300', logPath: buildLog },
    ]);

    // A recipe failing before it leaves VERSION: the template's last version, with this timestamp.
    ctx.config.templates = [{ name: TEMPLATE, argv: ['sh', '-c', 'echo "cannot fetch packages"; exit 3'] }];
    let failed: JobRecord | undefined;
    await expect(command(ctx, async (r) => { failed = r.job; await runBuildTemplate(r, { kind: 'build-template', release: 'r4.3', template: TEMPLATE, timestamp: '202612020301' }); })).rejects.toThrow(/failed/);
    const [f, ...more] = takeQueued();
    expect(more).toEqual([]);
    expect(f).toMatchObject({ kind: 'image-build-failed', ...T, version: '4.3.0-202612020301', logPath: failed!.stages[0]!.log });
    expect((f as { tail: string[] }).tail).toContain('cannot fetch packages');

    // Upload-template without an upload target: published in this VM, not uploaded, no report (as the pipeline's uploads).
    await command(ctx, (r) => runUploadTemplate(r, { kind: 'upload-template', release: 'r4.3', template: TEMPLATE, version: '4.3.0', timestamp: '202612020300', repository: 'templates-itl' }));
    expect(takeQueued()).toEqual([]);

    // The ISO: building, built; no upload target: no upload report.
    const I = { image: 'iso', name: 'iso', release: 'r4.3', version: '4.3.2' } as const;
    const iso = await command(ctx, (r) => runBuildIso(r, { kind: 'build-iso', release: 'r4.3', version: '4.3.2', timestamp: '202612020302' }));
    expect(takeQueued()).toEqual([{ kind: 'image-building', ...I }, { kind: 'image-built', ...I, logPath: iso.stages.find((x) => x.name === 'build-iso')!.log }]);

    // An upload target that cannot be reached: upstream's "failed to upload" to the ISO's testing repository, with the upload log's tail.
    ctx.config.upload = { rpm: { host: 'nowhere.invalid', user: 'upload', path: '/srv/yum' } };
    let up: JobRecord | undefined;
    await expect(command(ctx, async (r) => { up = r.job; await runBuildIso(r, { kind: 'build-iso', release: 'r4.3', version: '4.3.2', timestamp: '202612020303' }); })).rejects.toThrow(/upload/);
    const [, , u, ...rest] = takeQueued();
    expect(rest).toEqual([]);
    expect(u).toMatchObject({ kind: 'image-upload-failed', ...I, repository: 'iso-testing', logPath: up!.stages.find((x) => x.name === 'upload')!.log });
    expect((u as { tail: string[] }).tail.length).toBeGreaterThan(0);
  }, 180_000);
});
