import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpgvVerdict } from '../../../src/demo/verdicts.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';
import { SimTransport } from '../../../src/protocol/qrexec/transport-sim.js';
import { formDigest } from '../../../src/protocol/signform.js';
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
import { tempDirs } from '../../helpers/tmp.js';
import { BUILD_VM, buildQubeContext, startSigningSim, type SigningSim } from './repo/signing-sim.js';

// Build-template, Upload-template and Build-iso: configured recipes run through the logged,
// gated steps (the simulator's logs and keys qubes); judged with gpgv and sha256sum.
const TEMPLATE = 'fedora-42-xfce';
const templateRecipe = ['sh', '-c', 'echo 4.3.0 > "$OUTPUT_DIR/VERSION"; echo "template $TEMPLATE $RELEASE $TIMESTAMP" > "$OUTPUT_DIR/qubes-template-$TEMPLATE-4.3.0-$TIMESTAMP.noarch.rpm"'];
const isoRecipe = ['sh', '-c', 'mkdir "$OUTPUT_DIR/iso"; echo "installer $ISO_VERSION" > "$OUTPUT_DIR/iso/Qubes-$ISO_VERSION-x86_64.iso"'];

describe('image commands (templates, ISO)', () => {
  let s: SigningSim;
  let paths: BuildPaths;
  const tmp = tempDirs('qb-images-');
  beforeAll(async () => {
    s = await startSigningSim();
    paths = buildPaths(s.sim.stateDir(BUILD_VM));
  }, 120_000);
  afterAll(async () => { await s?.down(); });

  const context = (iso = true): StageContext => {
    const ctx = buildQubeContext(s);
    ctx.config.templates = [{ name: TEMPLATE, argv: templateRecipe }];
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

  it('Build-template: the recipe\'s outputs listed in SHA256SUMS, named in the build log, signed after its ticket; an older or equal timestamp is refused', async () => {
    const ctx = context();
    const cmd: BuildTemplateCommand = { kind: 'build-template', release: 'r4.3', template: TEMPLATE, timestamp: '202612020100' };
    expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, template: 'debian-13' }, new Date())).toBe('template debian-13 has no recipe in env fedora');
    expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, release: 'r4.2' }, new Date())).toBe("release r4.2 is not this env's (fedora builds r4.3)");
    expect(buildTemplateRefusal(paths, ctx.config, cmd, new Date())).toBeUndefined();
    const job = await command(ctx, (r) => runBuildTemplate(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual([`build-template-${TEMPLATE}:ok`, `release-template-${TEMPLATE}:ok`]);
    const dir = join(repositoryRoot(ctx), 'templates', 'r4.3', 'built', TEMPLATE, '4.3.0-202612020100');
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'SHA256SUMS.asc', `qubes-template-${TEMPLATE}-4.3.0-202612020100.noarch.rpm`]);
    expect(await verifiedSums(dir)).toMatch(/noarch\.rpm: OK/);
    expect(readFileSync(join(dir, `qubes-template-${TEMPLATE}-4.3.0-202612020100.noarch.rpm`), 'utf8')).toBe(`template ${TEMPLATE} r4.3 202612020100\n`);
    expect(storedLog(job.stages[0]!.log!)).toContain(`qbuild-sign sha256:${formDigest('binary', readFileSync(join(dir, 'SHA256SUMS')))} templates/${TEMPLATE}/4.3.0-202612020100/SHA256SUMS`);
    for (const ts of ['202612020100', '202612020059']) {
      expect(buildTemplateRefusal(paths, ctx.config, { ...cmd, timestamp: ts }, new Date())).toBe(`${TEMPLATE}: timestamp ${ts} is not newer than the last build's (202612020100)`);
    }
    await expect(command(ctx, (r) => runBuildTemplate(r, cmd))).rejects.toThrow(/refused: .*not newer/);
  }, 180_000);

  it('Upload-template: only exactly a built version, into templates-itl (the built copy stays), once', async () => {
    const ctx = context();
    const cmd: UploadTemplateCommand = { kind: 'upload-template', release: 'r4.3', template: TEMPLATE, version: '4.3.0', timestamp: '202612020100', repository: 'templates-itl' };
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, version: '4.3.1' }, new Date())).toBe(`template ${TEMPLATE} 4.3.1-202612020100 was never built`);
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, timestamp: '202612020101' }, new Date())).toBe(`template ${TEMPLATE} 4.3.0-202612020101 was never built`);
    expect(uploadTemplateRefusal(paths, ctx.config, cmd, new Date())).toBeUndefined();
    // min-age-days (default 5) counts from when the signed build was stored.
    const builtAt = Date.parse(loadImages(paths, 'template', TEMPLATE).builds.find((b) => b.timestamp === '202612020100')!.at);
    const defaults = { ...ctx.config, minAgeDays: undefined };
    expect(uploadTemplateRefusal(paths, defaults, cmd, new Date(builtAt + 3 * 3_600_000))).toBe(`template ${TEMPLATE} 4.3.0-202612020100 was built 3 h ago, less than min-age-days (5)`);
    expect(uploadTemplateRefusal(paths, defaults, cmd, new Date(builtAt + 5 * 86_400_000))).toBeUndefined();
    expect(uploadTemplateRefusal(paths, { ...ctx.config, minAgeDays: 2 }, cmd, new Date(builtAt + 47 * 3_600_000))).toMatch(/was built 47 h ago, less than min-age-days \(2\)$/);
    const job = await command(ctx, (r) => runUploadTemplate(r, cmd));
    expect(job.stages.map((x) => `${x.name}:${x.status}`)).toEqual([`upload-template-${TEMPLATE}:ok`, 'upload:ok']);
    const dir = join(repositoryRoot(ctx), 'templates', 'r4.3', 'templates-itl', TEMPLATE, '4.3.0-202612020100');
    expect(await verifiedSums(dir)).toMatch(/noarch\.rpm: OK/);
    expect(existsSync(join(repositoryRoot(ctx), 'templates', 'r4.3', 'built', TEMPLATE, '4.3.0-202612020100', 'SHA256SUMS.asc'))).toBe(true);
    expect(uploadTemplateRefusal(paths, ctx.config, cmd, new Date())).toBe(`template ${TEMPLATE} 4.3.0-202612020100 is already in templates-itl`);
    expect(uploadTemplateRefusal(paths, ctx.config, { ...cmd, repository: 'templates-community' }, new Date())).toBeUndefined();
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

    // Upload-template without an upload target: copied in this VM, not uploaded, no report (as the pipeline's uploads).
    await command(ctx, (r) => runUploadTemplate(r, { kind: 'upload-template', release: 'r4.3', template: TEMPLATE, version: '4.3.0', timestamp: '202612020300', repository: 'templates-community' }));
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
