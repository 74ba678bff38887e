import { execFileSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStage } from '../../../../src/roles/build/stages/build.js';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import { FIXTURE_FAILURE_LINE } from '../../../../src/demo/fixture-component.js';
import { rpmSignDigest } from '../../../../src/protocol/rpm/header-blob.js';
import { formDigest, type SignForm } from '../../../../src/protocol/signform.js';
import { openBuildLog, type BuildLogStream } from '../../../../src/roles/build/log-stream.js';
import type { Transport } from '../../../../src/protocol/qrexec/transport.js';
import type { BuildConfig, ComponentConfig, Dist, Recipe, SourceCheckout, StageContext } from '../../../../src/roles/build/pipeline/types.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { fixtureCheckout, VM_BOOKWORM, VM_FC42 } from '../recipes/fixture-checkout.js';

const tmp = tempDirs('qbuild-build-stage-');
const executor = new LocalExecutor();

interface Manifested { sha256: string; label: string; form: SignForm }

/** A BuildLogStream that keeps what it was sent, in order; `onWrite` may delay like a full stream. */
class CollectingLog implements BuildLogStream {
  readonly events: ({ write: Buffer } | { manifest: Manifested })[] = [];
  constructor(private readonly onWrite?: (data: Buffer) => void | Promise<void>) {}
  write(data: string | Buffer): void | Promise<void> {
    const b = Buffer.from(data);
    this.events.push({ write: b });
    return this.onWrite?.(b);
  }
  manifest(sha256: string, label: string, form: SignForm = 'binary'): void {
    this.events.push({ manifest: { sha256, label, form } });
  }
  finish(): Promise<string> { throw new Error('the build stage must not finish its log (the orchestrator does)'); }
  text(): string { return Buffer.concat(this.events.flatMap((e) => ('write' in e ? [e.write] : []))).toString(); }
  manifests(): Manifested[] { return this.events.flatMap((e) => ('manifest' in e ? [e.manifest] : [])); }
}

function component(recipe: Recipe, over: Partial<ComponentConfig> = {}): ComponentConfig {
  return {
    name: 'qbuild-fixture', url: 'http://127.0.0.1/qbuild-fixture', branch: 'main', recipes: [recipe],
    maintainers: [], minSignatures: 1, timeoutSeconds: 120, outputCapBytes: 64 << 20, ...over,
  };
}

/** The stage reads only workDir and signal of its context; the rest is the orchestrator's. */
function stageContext(root: string, signal = new AbortController().signal): StageContext {
  return {
    config: {} as BuildConfig, env: {}, qbuildBin: '/nonexistent/qbuild', workDir: join(root, 'job'),
    openLog: () => { throw new Error('the build stage is given its log'); }, signal,
  };
}

async function build(root: string, src: SourceCheckout, comp: ComponentConfig, dist: Dist, log: CollectingLog) {
  return buildStage(stageContext(root), src, comp, dist, log, executor);
}

describe('build stage', () => {
  it('rpm: streams rpmbuild, then names each RPM and SRPM header digest (binary) in the manifest', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3');
    const log = new CollectingLog();
    const artifacts = await build(root, src, component({ kind: 'rpm' }), VM_FC42, log);

    expect(artifacts.map((a) => a.kind)).toEqual(['rpm', 'srpm']);
    const expected = artifacts.map((a) => ({ sha256: rpmSignDigest(readFileSync(a.path)), label: basename(a.path), form: 'binary' }));
    expect(log.manifests()).toEqual(expected);
    // rpm agrees: the digest is the main header's SHA256HEADER, what rpmsign will hand to gpg.
    for (const [i, a] of artifacts.entries()) {
      expect(execFileSync('rpm', ['-qp', '--qf', '%{SHA256HEADER}', a.path], { encoding: 'utf8' })).toBe(expected[i]!.sha256);
    }
    // The recipe's output came first, the manifest last.
    const lastWrite = log.events.map((e) => 'write' in e).lastIndexOf(true);
    const firstManifest = log.events.findIndex((e) => 'manifest' in e);
    expect(lastWrite).toBeLessThan(firstManifest);
    expect(log.text()).toContain('Wrote: ');
    expect(log.text()).toContain('qbuild: recipe rpm for vm-fc42: qbuild-fixture 1.2.3');
  });

  it('deb (native): names the .dsc and .buildinfo in clearsign form, not the .changes or the .deb', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.2.3', 'native');
    const log = new CollectingLog();
    const artifacts = await build(root, src, component({ kind: 'deb' }), VM_BOOKWORM, log);

    const named = artifacts.filter((a) => a.kind === 'dsc' || a.kind === 'buildinfo');
    expect(named.map((a) => a.kind).sort()).toEqual(['buildinfo', 'dsc']);
    expect(log.manifests()).toEqual(named.map((a) => ({
      sha256: formDigest('clearsign', readFileSync(a.path)), label: basename(a.path), form: 'clearsign',
    })));
    expect(artifacts.some((a) => a.kind === 'changes')).toBe(true);
    expect(log.text()).toContain('dpkg-buildpackage -us -uc');
  });

  it('deb (quilt): the same manifest, for the revisioned source', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '2.0', 'quilt');
    const log = new CollectingLog();
    await build(root, src, component({ kind: 'deb' }), VM_BOOKWORM, log);
    expect(log.manifests().map((m) => [m.label.replace(/_[a-z0-9]+\.buildinfo$/, '_ARCH.buildinfo'), m.form]).sort()).toEqual([
      ['qbuild-fixture_2.0-1+deb12u1.dsc', 'clearsign'],
      ['qbuild-fixture_2.0-1+deb12u1_ARCH.buildinfo', 'clearsign'],
    ]);
  });

  it('a failing recipe: a stage error naming the exit code, its output in the log, no manifest line', async () => {
    for (const [recipe, dist] of [[{ kind: 'rpm' }, VM_FC42], [{ kind: 'deb' }, VM_BOOKWORM]] as const) {
      const root = tmp();
      const src = fixtureCheckout(root, '1.0', 'failing');
      const log = new CollectingLog();
      await expect(build(root, src, component(recipe), dist, log)).rejects.toMatchObject({ code: 'stage', message: expect.stringMatching(/failed: exit code [1-9]/) });
      expect(log.text()).toContain(FIXTURE_FAILURE_LINE);
      expect(log.manifests()).toEqual([]);
    }
  });

  it('a recipe past its timeout: a stage error naming the timeout, no manifest line', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const log = new CollectingLog();
    const comp = component({ kind: 'command', argv: ['sh', '-c', 'echo working; sleep 60'] }, { timeoutSeconds: 1 });
    await expect(build(root, src, comp, VM_FC42, log)).rejects.toMatchObject({ code: 'stage', message: 'sh failed: timed out after 1 s' });
    expect(log.text()).toContain('working\n');
    expect(log.manifests()).toEqual([]);
  });

  it('a recipe past its output cap: a stage error naming the cap; exactly the cap reached the log', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const log = new CollectingLog();
    const comp = component({ kind: 'command', argv: ['yes', 'spam'] }, { outputCapBytes: 10_000 });
    await expect(build(root, src, comp, VM_FC42, log)).rejects.toMatchObject({ code: 'stage', message: 'yes failed: output exceeded the cap of 10000 bytes' });
    expect((log.text().match(/^spam$/gm) ?? []).length).toBe(2000);
    expect(log.manifests()).toEqual([]);
  });

  it('streams live: the log has a line while the recipe is still running, and a full log pauses the recipe', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const gate = join(root, 'seen');
    let pausedWhileFull: boolean | undefined;
    let first = true;
    const log = new CollectingLog(async (b) => {
      if (b.toString() === 'first line\n') writeFileSync(gate, ''); // the recipe waits for this file
      if (!b.toString().startsWith('0000') || !first) return;
      first = false;
      await new Promise((r) => setTimeout(r, 700));
      pausedWhileFull = !existsSync(join(root, 'job', 'build', 'vm-fc42', 'out', 'done_1_all.deb'));
    });
    const script = `echo first line; while [ ! -e '${gate}' ]; do sleep 0.05; done; head -c 3000000 /dev/zero | tr '\\0' 0; touch "$OUTPUT_DIR/done_1_all.deb"`;
    const comp = component({ kind: 'command', argv: ['sh', '-c', script] }, { timeoutSeconds: 30 });
    const artifacts = await build(root, src, comp, VM_FC42, log);
    expect(artifacts.map((a) => basename(a.path))).toEqual(['done_1_all.deb']);
    expect(pausedWhileFull).toBe(true);
    expect((log.text().match(/0/g) ?? []).length).toBeGreaterThanOrEqual(3_000_000);
  });

  it('a recipe output named .rpm that is no RPM: a stage error, and no manifest line even for the real one', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    const [real] = await build(tmp(), src, component({ kind: 'rpm' }), VM_FC42, new CollectingLog());
    const log = new CollectingLog();
    const script = `cp '${real!.path}' "$OUTPUT_DIR/a.rpm"; echo not-an-rpm > "$OUTPUT_DIR/b.rpm"`;
    await expect(build(root, src, component({ kind: 'command', argv: ['sh', '-c', script] }), VM_FC42, log))
      .rejects.toMatchObject({ code: 'stage', message: 'recipe output b.rpm (rpm): rpm: not an rpm file (bad lead magic)' });
    expect(log.manifests()).toEqual([]);
  });

  it('through openBuildLog: a slow logs VM stalls the recipe instead of piling output up in the daemon', async () => {
    const root = tmp();
    const src = fixtureCheckout(root, '1.0');
    let received = 0;
    let maxQueued = 0;
    const stdin = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _enc, done) { received += chunk.length; setTimeout(done, 1); },
    });
    const call = { stdin, stdout: Readable.from([]), stderr: Readable.from([]), exit: new Promise<number>(() => {}) };
    const transport: Transport = { call: () => call };
    const log = openBuildLog(transport, 'qbuild-fixture');
    const measure = setInterval(() => { maxQueued = Math.max(maxQueued, stdin.writableLength); }, 2);
    const comp = component({ kind: 'command', argv: ['sh', '-c', 'head -c 16000000 /dev/zero; touch "$OUTPUT_DIR/x_1_all.deb"'] });
    try {
      await buildStage(stageContext(root), src, comp, VM_BOOKWORM, log, executor);
    } finally {
      clearInterval(measure);
    }
    // Everything reached the stream (the tail may still be queued below its high-water mark).
    expect(received + stdin.writableLength).toBeGreaterThan(16_000_000);
    // At most one pipe read (64 KiB) past the stream's high-water mark is ever queued.
    expect(maxQueued).toBeLessThan(256 * 1024);
  });
});
