import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateDir } from '../../../config.js';
import { QbuildError } from '../../../errors.js';
import { renderKnownHosts, renderSshConfig } from '../../../protocol/ssh/client-config.js';
import { checkSshHost, checkSshPath, checkSshUser } from '../../../protocol/ssh/rules.js';
import { describeResult } from '../executor/executor.js';
import { LocalExecutor } from '../executor/local.js';
import type { BuildLogStream } from '../log-stream.js';
import type { PackageFormat, PublishedDist, StageContext, UploadTarget } from '../pipeline/types.js';
import { ensureSshKey } from '../ssh-key.js';
import { transfersFor, type Transfer } from './upload-layout.js';

/**
 * Upstream's flags (qubes-builderv2 upload plugin), without --progress (its \r lines only
 * clutter a log), plus --delay-updates: the new files of a tree are renamed into place together
 * at the end, so a mirror user does not fetch a repomd.xml or Release naming files still on
 * their way.
 */
const RSYNC_FLAGS = ['--partial', '--hard-links', '-OJair', '--mkpath', '--delay-updates'];
/** No byte either way for this long ends the transfer (rsync --timeout). */
const IO_TIMEOUT_S = 600;
/** A whole transfer of one tree. */
const TRANSFER_TIMEOUT_MS = 2 * 3600_000;
/** rsync -i prints a line per file; far more than this is not an upload but a runaway. */
const OUTPUT_CAP = 64 * 1024 * 1024;

/**
 * The `upload` stage: each published tree is sent with rsync over ssh to the format's upload
 * target (pillar `upload`), as upstream does: ssh reaches the host only through
 * `qrexec-client-vm <sys-net> local.ConnectSSH+HOST`, so the qrexec policy decides which hosts
 * the build qube may reach, and the host key must be the one the pillar pins. The remote
 * layout is upload-layout.ts's (upstream's). A format without a target is skipped and logged.
 */
export async function uploadStage(ctx: StageContext, published: PublishedDist[], log: BuildLogStream): Promise<void> {
  const jobs: { target: UploadTarget; p: PublishedDist }[] = [];
  for (const format of ['rpm', 'deb'] as PackageFormat[]) {
    const mine = published.filter((p) => p.dist.format === format);
    if (mine.length === 0) continue;
    const target = ctx.config.upload[format];
    if (!target) {
      log.write(`upload: no ${format} upload target configured (pillar upload:${format}): ${mine.map((p) => p.dist.name).join(', ')} not uploaded\n`);
      continue;
    }
    for (const p of mine) jobs.push({ target, p });
  }
  if (jobs.length === 0) {
    log.write('upload: nothing to upload\n');
    return;
  }
  // Debian dists of one set share its pool: it is sent once.
  const sent = new Set<string>();
  const all: { target: UploadTarget; what: string; t: Transfer }[] = [];
  for (const { target, p } of jobs) {
    for (const t of transfersFor(p)) {
      const key = `${target.host}:${target.path}/${t.remote}`;
      if (sent.has(key)) continue;
      sent.add(key);
      all.push({ target, what: p.dist.name, t });
    }
  }
  await uploadTransfers(ctx, all, log);
}

/**
 * Sends each transfer's local directory (its content, trailing `/`) to `<target path>/<remote>/`,
 * in order, with the same rsync, ssh config and failure rules as the package upload; `what`
 * names it in the log and in a failure. Used for packages and for images (templates, ISOs).
 */
export async function uploadTransfers(ctx: StageContext, all: { target: UploadTarget; what: string; t: Transfer }[], log: BuildLogStream): Promise<void> {
  const sshCommand = await prepareSsh(ctx);
  for (const { target, what, t } of all) await transfer(ctx, sshCommand, target, what, t, log);
  log.write('upload: done\n');
}

/**
 * Writes this job's ssh config and known_hosts (every `remote-hosts` key, nothing learned)
 * into the work dir and returns the `-e` command for rsync. The identity is the build qube's
 * own key (ensureSshKey), whose public half the operator put in the host's authorized_keys.
 */
async function prepareSsh(ctx: StageContext): Promise<string> {
  const dir = join(ctx.workDir, 'ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = await ensureSshKey(stateDir(ctx.env));
  const knownHostsFile = join(dir, 'known_hosts');
  const config = join(dir, 'config');
  checkSshPath('ssh config path', config);
  writeFileSync(knownHostsFile, renderKnownHosts(ctx.config.remoteHosts), { mode: 0o600 });
  writeFileSync(config, renderSshConfig({
    proxyVm: ctx.config.sshProxyVm,
    hosts: ctx.config.remoteHosts.map((h) => ({ host: h.host, user: h.user })),
    knownHostsFile,
    identityFile: key.privateKey,
  }), { mode: 0o600 });
  return `ssh -F ${config}`;
}

async function transfer(ctx: StageContext, sshCommand: string, target: UploadTarget, what: string, t: Transfer, log: BuildLogStream): Promise<void> {
  // The build config's parser checked these already; they are also rsync's destination syntax.
  checkSshHost(target.host);
  checkSshUser(target.user);
  checkSshPath('upload path', target.path);
  const dest = `${target.user}@${target.host}:${target.path.replace(/\/+$/, '')}/${t.remote}/`;
  const argv = ['rsync', ...RSYNC_FLAGS, `--timeout=${IO_TIMEOUT_S}`, '-e', sshCommand, '--', `${t.local}/`, dest];
  log.write(`upload: ${what}: ${t.local}/ -> ${dest}\n`);
  const tail = new OutputTail();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  const cwd = join(ctx.workDir, 'upload');
  const r = await new LocalExecutor().run({
    argv, cwd, env: { ...env, LC_ALL: 'C' }, timeoutMs: TRANSFER_TIMEOUT_MS, outputCapBytes: OUTPUT_CAP,
    onOutput: (chunk) => { tail.add(chunk); log.write(chunk); },
    signal: ctx.signal,
  });
  if (r.kind === 'exited' && r.code === 0) return;
  const why = r.kind !== 'exited' ? `rsync ${describeResult(r)}`
    // ssh failed before rsync spoke: rsync exits 255 or 12 (protocol stream) by a race, so the
    // code says nothing; the cause is ssh's (or qrexec's) own line.
    : r.code === 255 || tail.noRemote() ? `the ssh connection failed: ${tail.reason()}`
    : `rsync ${describeResult(r)}: ${tail.reason()}`;
  log.write(`upload: ${what} failed: ${why}\n`);
  throw new QbuildError('stage', `upload of ${what} to ${target.host} failed: ${why}`);
}

/** Lines of rsync's and ssh's closing summary that name no cause. */
const GENERIC_LINE = new RegExp([
  '^rsync( error)?: (connection unexpectedly closed|.*\\(code \\d+\\) at )', '^rsync: \\[(sender|receiver)\\]',
  // ssh's own words when its ProxyCommand ended (e.g. after qrexec's "Request refused").
  '^kex_exchange_identification: ', '^banner exchange: ', '^Connection closed by ',
].join('|'));

/**
 * The last few KiB of rsync's output, and from it the line that says why it failed: rsync
 * ends with its own summary (`rsync error: … (code N)`, `connection unexpectedly closed`),
 * and ssh says only that the connection closed: neither names a cause, so the last line
 * before those is preferred when there is one.
 */
class OutputTail {
  private text = '';
  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-8192);
  }
  /** rsync's words when the remote shell ended before the remote rsync sent a byte. */
  noRemote(): boolean {
    return /connection unexpectedly closed \(0 bytes received so far\)/.test(this.text);
  }
  reason(): string {
    const lines = this.text.split('\n').map((l) => l.replace(/[\x00-\x1f\x7f]/g, ' ').trim()).filter(Boolean);
    const telling = lines.filter((l) => !GENERIC_LINE.test(l));
    return (telling.pop() ?? lines.pop() ?? 'no message').slice(0, 300);
  }
}
