import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simPaths } from '../../../../src/protocol/qrexec/sim/layout.js';
import { SimTransport } from '../../../../src/protocol/qrexec/transport-sim.js';
import { dnfVerdict } from '../../../../src/demo/verdicts.js';
import { openBuildLog, type BuildLogStream } from '../../../../src/roles/build/log-stream.js';
import { buildStage } from '../../../../src/roles/build/stages/build.js';
import { LocalExecutor } from '../../../../src/roles/build/executor/local.js';
import type { BuildConfig, BuiltDist, ComponentConfig, Dist, StageContext } from '../../../../src/roles/build/pipeline/types.js';
import { GpgHome } from '../../../helpers/gpg.js';
import { run } from '../../../helpers/run.js';
import { startLogsSim, type LogsSim } from '../../logs/logs-sim.js';
import { fixtureCheckout } from '../recipes/fixture-checkout.js';

export const BUILD_VM = 'build-fedora';
export const KEYS_VM = 'keys-fedora';

/** The simulator with its daemons, a GnuPG-made signing key in the keys qube, and a verifier's keyring. */
export interface SigningSim {
  sim: LogsSim;
  /** The release engineer's GnuPG home: made the key; its public half is what users trust. */
  gpg: GpgHome;
  fpr: string;
  /** The public key, armored (dnf's gpgkey=, apt's signed-by=). */
  pubKeyFile: string;
  /** A gpgv keyring holding only the public key. */
  ring: string;
  down(): Promise<void>;
}

export async function startSigningSim(): Promise<SigningSim> {
  const sim = await startLogsSim();
  const gpg = new GpgHome();
  try {
    const fpr = gpg.generateKey('Qubes OS qbuild test signing key <sign@example.invalid>');
    const secret = gpg.gpgSync(['--armor', '--export-secret-keys', fpr]);
    const imported = await sim.run(KEYS_VM, ['role', 'keys', 'import', '-'], { stdin: secret });
    if (imported.code !== 0) throw new Error(`key import failed: ${imported.stderr}`);
    const pubKeyFile = join(gpg.dir, 'signing-key.asc');
    writeFileSync(pubKeyFile, gpg.gpgSync(['--armor', '--export', fpr]));
    const ring = join(gpg.dir, 'signing-key.gpg');
    const dearmored = await run('gpg', ['--batch', '--dearmor'], { env: gpg.env, stdin: gpg.gpgSync(['--armor', '--export', fpr]) });
    writeFileSync(ring, dearmored.stdout);
    return { sim, gpg, fpr, pubKeyFile, ring, down: async () => { await sim.down(); gpg.cleanup(); } };
  } catch (e) {
    await sim.down();
    gpg.cleanup();
    throw e;
  }
}

export const VM_FC42: Dist = { name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' };
export const VM_BOOKWORM: Dist = { name: 'vm-bookworm', set: 'vm', dist: 'bookworm', format: 'deb' };

/** A StageContext for the build qube: its environment, the real qbuild binary, logs through the sim. */
export function buildQubeContext(s: SigningSim, opts: { signKey?: string; signal?: AbortSignal; repositoryRoot?: string } = {}): StageContext {
  const home = join(s.sim.qubeDir(BUILD_VM), 'home');
  mkdirSync(join(home, 'jobs'), { recursive: true });
  const workDir = mkdtempSync(join(home, 'jobs', 'job-'));
  const config: BuildConfig = {
    vm: BUILD_VM, env: 'fedora', logsVm: 'logs', keysVm: KEYS_VM, release: 'r4.3',
    dists: [VM_FC42, VM_BOOKWORM], components: [], maintainerKeys: '', signKey: opts.signKey ?? s.fpr,
    repositoryRoot: opts.repositoryRoot ?? 'repository', upload: {}, sshProxyVm: 'sys-net', remoteHosts: [], commandsPublicKeys: null,
  };
  const socket = simPaths(s.sim.dir).qube(BUILD_VM).socket;
  return {
    config,
    env: { ...s.sim.env(BUILD_VM), QUBES_GPG_DOMAIN: KEYS_VM },
    qbuildBin: s.sim.bin,
    workDir,
    openLog: (stage) => openBuildLog(new SimTransport(socket), stage),
    signal: opts.signal ?? new AbortController().signal,
  };
}

/** A log stream of the build qube that records what it wrote (for assertions) as it sends it. */
export function recordedLog(ctx: StageContext, stage: string): BuildLogStream & { text(): string } {
  const log = ctx.openLog(stage);
  let text = '';
  return {
    write: (d) => { text += d.toString(); log.write(d); },
    manifest: (sha256, label, form) => { text += `manifest ${form ?? 'binary'} ${sha256} ${label}\n`; log.manifest(sha256, label, form); },
    finish: () => log.finish(),
    text: () => text,
  };
}

function component(kind: 'rpm' | 'deb'): ComponentConfig {
  return {
    name: 'qbuild-fixture', url: 'http://127.0.0.1/unused', branch: 'main', recipes: [{ kind }], maintainers: [],
    minSignatures: 1, timeoutSeconds: 600, outputCapBytes: 64 << 20,
  };
}

/**
 * The real build stage for the fixture component at `version`, its log streamed to the logs
 * qube and finished: the logs VM then publishes it and sends the keys qube the ticket
 * (unless `logged: false`).
 */
export async function buildFixture(ctx: StageContext, dist: Dist, version: string, o: { logged?: boolean } = {}): Promise<BuiltDist> {
  const root = mkdtempSync(join(ctx.workDir, `src-${dist.name}-`));
  const src = fixtureCheckout(root, version);
  // Unlogged: the same build, its output and manifest kept here, so no ticket ever names it.
  const log = o.logged === false ? { write: () => {}, manifest: () => {}, finish: async () => '' } : ctx.openLog(`build-${dist.name}`);
  const artifacts = await buildStage(ctx, src, component(dist.format === 'rpm' ? 'rpm' : 'deb'), dist, log, new LocalExecutor());
  const logPath = await log.finish();
  return { dist, artifacts, logPath };
}

/** `rpm -K` against an rpmdb that trusts only the signing key. */
export async function rpmCheck(s: SigningSim, rpm: string): Promise<{ code: number; out: string }> {
  const db = join(s.gpg.dir, 'rpmdb');
  mkdirSync(db, { recursive: true });
  await run('rpmkeys', ['--dbpath', db, '--import', s.pubKeyFile]);
  const r = await run('rpm', ['--dbpath', db, '-Kv', rpm]);
  return { code: r.code, out: r.stdout.toString() + r.stderr };
}

/** A tiny RPM, built in `work`, that provides /bin/sh as bash does on any Fedora system. */
/**
 * What a Fedora user's dnf does with the published tree: a repo file with `gpgcheck=1
 * repo_gpgcheck=1 gpgkey=file://KEY`, no other repository (`reposdir=` only this one, all
 * others disabled), `--releasever`, and `install --downloadonly` (dnf checks package
 * signatures on install; `dnf download` does not) into an installroot whose rpmdb already
 * holds what every Fedora system has (/bin/sh). Returns the downloaded, verified package.
 */
export async function dnfInstallDownloadOnly(repoDir: string, keyFile: string, pkg: string, work: string): Promise<string> {
  return dnfVerdict(repoDir, keyFile, pkg, '42', work);
}
