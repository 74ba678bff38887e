import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNoteKey } from '../protocol/note/note.js';
import { signBody } from '../protocol/github/signature.js';
import { qubeEnv, simPaths } from '../protocol/qrexec/sim/layout.js';
import { QbuildError } from '../errors.js';
import { listJobs, type JobRecord } from '../roles/build/state/job-record.js';
import { buildPaths } from '../roles/build/state/paths.js';
import { ComponentRepo } from './component-repo.js';
import { DevGnupg } from './gnupg.js';
import { startGitServer, type GitServer } from './git-http-server.js';
import { startSshd, type Sshd } from './sshd-server.js';
import { runTool, waitUntil, type Ran } from './steps.js';
import { worldPillar, type WorldEnv } from './world-pillar.js';

export const LOGS_VM = 'logs';
const WEBHOOK_SECRET = 'qbuild-demo-webhook-secret';

/** A build job as the build qube records it. */
export type JobView = JobRecord;

export interface ReleaseOptions { signers?: number; unsigned?: boolean; outsider?: boolean; commitAfterTag?: boolean; message?: string }

export interface WorldOptions {
  /** Everything goes under this directory. */
  work: string;
  /** The qbuild executable the qubes run. */
  bin: string;
  /** Build environments (one build qube + keys qube each), all sharing the logs qube. */
  envs: WorldEnv[];
  /** The component every env builds (repository `qubes-<name>` on the git server). */
  component: string;
  /** Extra pillar text under build-infra:components:<component> (e.g. `recipe: [rpm, deb]`). */
  recipe: string;
  /** How many of the maintainers must sign (default 1); `maintainers` keys are made. */
  minSignatures?: number;
  maintainers?: number;
  /** Per-component settings merged into the pillar (timeout, output-cap). */
  extraComponentPillar?: string;
  /** More pillar lines under `build-infra:` (indented by 2), given the maintainers' keys (e.g. who may sign commands). */
  extraPillar?: (k: { maintainers: string[]; maintainerKeys: string }) => string;
  /** Settings merged into qubes' config sections before `sim up` (e.g. the logs qube's remote or witnesses). */
  settings?: { vm: string; section: string; values: Record<string, unknown> }[];
}

/**
 * The dev box's whole world around the simulated qubes: the maintainers' and release
 * engineer's GnuPG keys, a loopback git server standing in for GitHub, a loopback sshd
 * standing in for the upload host, a pillar naming all of it, `provision`, and `sim up` with
 * every daemon running. Shared by `qbuild demo`, the end-to-end tests and bench/pipeline.
 */
export class World {
  readonly formula: string;
  readonly maintainers: { fpr: string }[] = [];
  readonly signKeys = new Map<string, string>();
  readonly repo: ComponentRepo;
  private up = false;
  private constructor(
    readonly o: WorldOptions,
    readonly git: GitServer,
    readonly sshd: Sshd,
    readonly maintainerHome: DevGnupg,
    readonly releaseHome: DevGnupg,
  ) {
    this.formula = join(o.work, 'formula');
    this.repo = new ComponentRepo(join(o.work, 'upstream-work', o.component), join(o.work, 'github', `qubes-${o.component}`));
  }

  /** Makes keys, starts the git server and sshd, provisions, starts the simulator. */
  static async create(o: WorldOptions, say: (line: string) => void = () => {}): Promise<World> {
    mkdirSync(o.work, { recursive: true });
    const git = await startGitServer(join(o.work, 'github'));
    mkdirSync(join(o.work, 'github'), { recursive: true });
    const sshd = await startSshd(o.work);
    const w = new World(o, git, sshd, new DevGnupg(join(o.work, 'maintainer-gnupg')), new DevGnupg(join(o.work, 'release-engineer-gnupg')));
    try {
      await w.setUp(say);
    } catch (e) {
      await w.down();
      throw e;
    }
    return w;
  }

  env(vm: string): NodeJS.ProcessEnv {
    return qubeEnv(this.formula, vm, this.o.bin);
  }

  /** Runs the qbuild executable inside `vm`, with that qube's config and state. */
  inQube(vm: string, args: string[], input?: string, allowFail = false): Promise<Ran> {
    return runTool(this.o.bin, args, { env: this.env(vm), cwd: simPaths(this.formula).qube(vm).home, allowFail, ...(input !== undefined ? { input } : {}) });
  }

  stateDir(vm: string): string {
    return simPaths(this.formula).qube(vm).state;
  }

  private async setUp(say: (line: string) => void): Promise<void> {
    const o = this.o;
    for (let i = 0; i < (o.maintainers ?? 1); i++) {
      this.maintainers.push({ fpr: await this.maintainerHome.newKey(`Component Maintainer ${i + 1} <maintainer${i + 1}@qbuild.invalid>`) });
    }
    const maintainerKeys = (await Promise.all(this.maintainers.map((m) => this.maintainerHome.exportPublic(m.fpr)))).join('');
    for (const e of o.envs) this.signKeys.set(e.name, await this.releaseHome.newKey(`Qubes OS ${e.name} signing key (qbuild demo) <${e.name}@qbuild.invalid>`));
    say(`GnuPG: ${this.maintainers.length} maintainer key(s), ${this.signKeys.size} release signing key(s) (v4 Ed25519)`);

    const note = generateNoteKey(`qbuild-logs/${LOGS_VM}`);
    const pillarFile = join(o.work, 'pillar.yml');
    writeFileSync(pillarFile, worldPillar({
      gitBase: this.git.baseUrl, component: o.component, recipe: o.recipe, extra: o.extraComponentPillar ?? '',
      maintainerKeys, maintainers: this.maintainers.map((m) => m.fpr), minSignatures: o.minSignatures ?? 1,
      envs: o.envs, signKeys: this.signKeys, sshd: this.sshd, logsVerifierKey: note.verifierKey,
      extraTop: o.extraPillar?.({ maintainers: this.maintainers.map((m) => m.fpr), maintainerKeys }) ?? '',
    }));
    await runTool(o.bin, ['provision', '--pillar', pillarFile, '--out', this.formula]);
    say(`provisioned ${pillarFile} into ${this.formula}`);

    // What an operator does inside the qubes of a real machine: the logs qube's ticket key,
    // the webhook secret in sys-net; here also loopback listeners and the sshd's port.
    writeFileSync(join(o.work, 'logs-note.key'), `${note.signerKey}\n`, { mode: 0o600 });
    writeFileSync(join(o.work, 'webhook-secret'), `${WEBHOOK_SECRET}\n`, { mode: 0o600 });
    this.editConfig(LOGS_VM, 'logs', (s) => Object.assign(s, { noteKeyFile: join(o.work, 'logs-note.key'), listen: '127.0.0.1:0' }));
    this.editConfig('sys-net', 'sysnet', (s) => Object.assign(s, {
      listen: '127.0.0.1:0', secretFile: join(o.work, 'webhook-secret'), sshPort: this.sshd.port, retryBaseMs: 200, retryMaxMs: 1000,
    }));
    for (const e of o.settings ?? []) this.editConfig(e.vm, e.section, (c) => Object.assign(c, e.values));

    await runTool(o.bin, ['sim', 'up', '--formula', this.formula], { env: { ...process.env, QBUILD_BIN: o.bin } });
    this.up = true;
    say('simulator up: every qube a directory and processes behind the policy-enforcing router');

    for (const e of o.envs) {
      const fpr = this.signKeys.get(e.name)!;
      await this.inQube(`keys-${e.name}`, ['role', 'keys', 'import', '-'], await this.releaseHome.exportSecret(fpr));
      const pub = (await this.inQube(`build-${e.name}`, ['role', 'build', 'ssh-key'])).stdout.trim();
      this.sshd.authorize(pub);
      say(`keys-${e.name}: signing key ${fpr} imported; build-${e.name}: ssh key authorized on the upload host`);
    }
  }

  private editConfig(vm: string, section: string, edit: (s: Record<string, unknown>) => void): void {
    const file = join(this.formula, 'files', vm, 'qbuild.json');
    const c = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    edit(c[section]!);
    writeFileSync(file, JSON.stringify(c, null, 2));
  }

  /**
   * A release of the component: commits `files` and tags v<version>, then pushes. By default
   * the first `signers` maintainers each sign their own annotated tag on that commit (N-of-M,
   * as upstream); `unsigned` makes one unsigned annotated tag, `outsider` one signed by a key
   * that is no maintainer's, `commitAfterTag` adds an untagged commit on top; `message` is the
   * commit's message (default `Release <version>`).
   */
  async release(version: string, files: Record<string, string>, exec: readonly string[], o: ReleaseOptions = {}): Promise<string> {
    const commit = await this.repo.commit(files, o.message ?? `Release ${version}`, exec);
    const tag = `v${version}`;
    if (o.unsigned) await this.repo.tag(tag);
    else if (o.outsider) await this.repo.tag(tag, { gnupg: this.releaseHome, fpr: this.signKeys.values().next().value! });
    else {
      for (let i = 0; i < (o.signers ?? 1); i++) {
        await this.repo.tag(i === 0 ? tag : `${tag}-m${i + 1}`, { gnupg: this.maintainerHome, fpr: this.maintainers[i]!.fpr });
      }
    }
    if (o.commitAfterTag) await this.repo.commit({ 'AFTER-TAG': `changed after ${tag}\n` }, 'Untagged change');
    await this.repo.push();
    return commit;
  }

  /** The port sys-net's webhook listener bound. */
  async webhookPort(): Promise<number> {
    const file = join(this.stateDir('sys-net'), 'sysnet', 'listening');
    const text = await waitUntil('sys-net\'s webhook listener', () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined), 30_000);
    return Number(/:(\d+)\s*$/.exec(text)![1]);
  }

  /** Sends a push webhook for the component as GitHub does (HMAC-signed); the HTTP status. */
  pushWebhook(): Promise<number> {
    return this.postWebhook('/github-hooks/trigger-build', 'push', JSON.stringify({
      ref: 'refs/heads/main',
      repository: { name: `qubes-${this.o.component}`, full_name: `QubesOS/qubes-${this.o.component}` },
      pusher: { name: 'maintainer' },
    }));
  }

  /** Sends an issue_comment webhook as GitHub does (HMAC-signed) with `payload` as its body; the HTTP status. */
  commentWebhook(payload: unknown): Promise<number> {
    return this.postWebhook('/github-hooks/process-comment', 'issue_comment', JSON.stringify(payload));
  }

  /** POSTs `body` to sys-net's listener with GitHub's headers and HMAC signature; the HTTP status. */
  private async postWebhook(path: string, event: string, body: string): Promise<number> {
    const port = await this.webhookPort();
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST', body,
      headers: {
        'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signBody(WEBHOOK_SECRET, body), 'user-agent': 'GitHub-Hookshot/qbuild-demo',
      },
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Every job record of the build qube `vm`, oldest first. */
  jobs(vm: string): JobView[] {
    return listJobs(buildPaths(this.stateDir(vm)));
  }


  /** Waits for the `nth` job (0-based) of `vm` to end; its record. */
  async finishedJob(vm: string, nth: number, ms = 300_000): Promise<JobView> {
    return waitUntil(`job ${nth + 1} of ${vm} to finish (see ${simPaths(this.formula).qube(vm).log})`, () => {
      const j = this.jobs(vm)[nth];
      return j?.finishedAt ? j : undefined;
    }, ms);
  }

  /** The build qube's repository root (pillar default: `repository` under its state). */
  repositoryRoot(env: string): string {
    return join(this.stateDir(`build-${env}`), 'repository');
  }

  async signingKeyFile(env: string): Promise<string> {
    const file = join(this.o.work, `signing-key-${env}.asc`);
    writeFileSync(file, await this.releaseHome.exportPublic(this.signKeys.get(env)!));
    return file;
  }

  /** Stops the simulator and everything the dev box runs for it. */
  async down(): Promise<void> {
    if (this.up) await runTool(this.o.bin, ['sim', 'down', '--formula', this.formula], { allowFail: true });
    this.up = false;
    await this.stopServers();
  }

  /** Stops the dev box's own servers and agents (git, sshd, gpg-agents); the simulator stays up. */
  async stopServers(): Promise<void> {
    await this.git.close().catch(() => {});
    await this.sshd.close().catch(() => {});
    await this.maintainerHome.stop();
    await this.releaseHome.stop();
  }
}

/** Throws unless the job ended in `state`, naming its failing stage. */
export function expectJob(j: JobView, state: string): JobView {
  if (j.state !== state) {
    const failed = j.stages.find((s) => s.status === 'failed');
    throw new QbuildError('stage', `job ${j.id} ended ${j.state}, not ${state}: ${j.reason ?? failed?.reason ?? 'no reason recorded'}`);
  }
  return j;
}
