import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { QbuildError } from '../../../errors.js';
import { generateNoteKey } from '../../../protocol/note/note.js';
import { rpmSignDigest } from '../../../protocol/rpm/header-blob.js';
import { SimTransport } from '../../../protocol/qrexec/transport-sim.js';
import { simBinary } from '../../../protocol/qrexec/sim/binary.js';
import { qubeEnv, simPaths } from '../../../protocol/qrexec/sim/layout.js';
import { lastLine } from '../../../util/last-line.js';
import { openBuildLog } from '../../build/log-stream.js';
import { DEMO_SPEC } from './rpm-package.js';
import { DEMO_PILLAR } from './pillar.js';
import { Progress, runTool, waitUntil } from './steps.js';

const BUILD = 'build-fedora';
const KEYS = 'keys-fedora';
const LOGS = 'logs';
const SIGNING_UID = 'Qubes OS qbuild demo signing key <demo@qbuild.invalid>';

export interface DemoOptions { dir?: string; keep: boolean }

/** Real tools the demo drives; each missing one is a clear error before anything starts. */
async function checkTools(): Promise<void> {
  for (const [tool, pkg] of [['rpmbuild', 'rpm'], ['rpmsign', 'rpm'], ['rpmkeys', 'rpm'], ['gpg', 'gnupg'], ['git', 'git']] as const) {
    await runTool(tool, ['--version']).catch(() => {
      throw new QbuildError('config', `the demo needs ${tool} (Debian package ${pkg})`);
    });
  }
}

/**
 * `qbuild demo`: the whole pipeline in a fresh simulator. dom0 provisions; the logs qube gets
 * its ticket key; the keys qube gets a GnuPG-made signing key; the build qube builds a real
 * RPM while streaming its log, lists the header digest in the log's manifest, and signs with
 * rpmsign through `qbuild sign`; the verdicts come from rpmkeys and git verify-commit.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const p = new Progress();
  await checkTools();
  const bin = simBinary();
  const work = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'qbuild-demo-')));
  mkdirSync(work, { recursive: true });
  const formula = join(work, 'formula');
  const paths = simPaths(formula);
  const env = (vm: string) => qubeEnv(formula, vm, bin);
  const inQube = (vm: string, args: string[], input?: string) =>
    runTool(bin, args, { env: env(vm), cwd: paths.qube(vm).home, ...(input !== undefined ? { input } : {}) });
  let up = false;
  try {
    p.step('dom0: provision the pillar (two build environments, one logs qube)');
    const note = generateNoteKey(`qbuild-logs/${LOGS}`);
    const pillar = join(work, 'pillar.yml');
    writeFileSync(pillar, DEMO_PILLAR(note.verifierKey));
    await runTool(bin, ['provision', '--pillar', pillar, '--out', formula]);
    // The logs qube's ticket key: made here so dom0 could put its public half in the pillar.
    const logsCfgPath = join(formula, 'files', LOGS, 'qbuild.json');
    const logsCfg = JSON.parse(readFileSync(logsCfgPath, 'utf8')) as { logs: Record<string, unknown> };
    writeFileSync(join(work, 'logs-note.key'), `${note.signerKey}\n`, { mode: 0o600 });
    Object.assign(logsCfg.logs, { noteKeyFile: join(work, 'logs-note.key'), listen: '127.0.0.1:0' });
    writeFileSync(logsCfgPath, JSON.stringify(logsCfg, null, 2));
    p.detail(`formula: ${formula}`);
    p.detail(`policy: ${readFileSync(join(formula, 'policy.d', '30-qbuild.policy'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).length} rules in policy.d/30-qbuild.policy`);
    p.detail(`logs ticket key (provisioned to the keys qubes): ${note.verifierKey}`);

    p.step('sim up: every qube is a directory and processes; the router enforces that policy');
    const upRun = await runTool(bin, ['sim', 'up', '--formula', formula], { env: { ...process.env, QBUILD_BIN: bin } });
    up = true;
    for (const l of upRun.stdout.trim().split('\n').slice(1)) p.detail(l.trim());

    p.step(`${KEYS}: import a signing key made with GnuPG (v4 Ed25519)`);
    const gnupg = join(work, 'release-engineer-gnupg');
    mkdirSync(gnupg, { recursive: true, mode: 0o700 });
    const gpg = (args: string[], input?: string) =>
      runTool('gpg', ['--homedir', gnupg, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], input !== undefined ? { input } : {});
    await gpg(['--quick-gen-key', SIGNING_UID, 'ed25519', 'sign', '1y']);
    const secret = (await gpg(['--armor', '--export-secret-keys', SIGNING_UID])).stdout;
    const pub = (await gpg(['--armor', '--export', SIGNING_UID])).stdout;
    writeFileSync(join(work, 'signing-key.pub.asc'), pub);
    const imported = await inQube(KEYS, ['role', 'keys', 'import', '-'], secret);
    const fpr = /imported ([0-9A-F]{40})/.exec(imported.stdout)?.[1];
    if (!fpr) throw new QbuildError('internal', `unexpected import output: ${imported.stdout.trim()}`);
    p.detail(`key ${fpr} stored in ${KEYS} (no network; signs only ticketed bytes)`);

    p.step(`${BUILD}: rpmbuild, its output streamed live to the logs qube (qubesbuilder.BuildLog)`);
    const home = paths.qube(BUILD).home;
    const top = join(home, 'rpmbuild');
    mkdirSync(join(top, 'SPECS'), { recursive: true });
    writeFileSync(join(top, 'SPECS', 'qbuild-demo.spec'), DEMO_SPEC);
    const log = openBuildLog(new SimTransport(paths.qube(BUILD).socket), 'qbuild-demo');
    const code = await new Promise<number>((done, fail) => {
      const child = spawn('rpmbuild', ['--define', `_topdir ${top}`, '-bb', join(top, 'SPECS', 'qbuild-demo.spec')], {
        cwd: home, env: { ...env(BUILD), LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (d: Buffer) => log.write(d));
      child.stderr.on('data', (d: Buffer) => log.write(d));
      child.on('error', fail);
      child.on('close', (c) => done(c ?? 1));
    });
    if (code !== 0) throw new QbuildError('io', `rpmbuild failed (exit ${code}): see the build log`);
    const rpmDir = join(top, 'RPMS', 'noarch');
    const rpm = join(rpmDir, readdirSync(rpmDir).find((n) => n.endsWith('.rpm'))!);
    const digest = rpmSignDigest(readFileSync(rpm));
    log.manifest(digest, basename(rpm));
    const logPath = await log.finish();
    p.detail(`built ${basename(rpm)}; manifest: qbuild-sign sha256:${digest.slice(0, 16)}… (the header rpmsign will hand to gpg)`);
    p.detail(`log stored by ${LOGS} as ${logPath}`);

    p.step(`${LOGS}: commit the log (signed git commit), then send ${KEYS} a signed ticket`);
    const ticketLine = await waitUntil('the ticket to reach the keys qube', async () => {
      const t = await inQube(KEYS, ['role', 'keys', 'tickets', BUILD]);
      return t.stdout.split('\n').find((l) => l.includes(digest));
    }, 30_000);
    const store = join(paths.qube(LOGS).state, 'store');
    const head = (await runTool('git', ['-C', store, 'log', '-1', '--format=%H %s'])).stdout.trim();
    p.detail(`commit ${head}`);
    p.detail(`${KEYS} holds: ${ticketLine.trim()}`);

    p.step(`${BUILD}: rpmsign with %__gpg = qbuild sign (split-gpg to ${KEYS})`);
    const wrapper = join(home, 'qbuild-gpg');
    writeFileSync(wrapper, '#!/bin/sh\nexec "$QBUILD_BIN" sign "$@"\n');
    chmodSync(wrapper, 0o755);
    // The gate first: bytes no published log names are refused.
    const other = await runTool(bin, ['sign', '--detach-sign', '--armor', '-u', fpr], { env: env(BUILD), cwd: home, input: 'bytes no log names\n', allowFail: true });
    if (other.code === 0) throw new QbuildError('gate', 'the keys qube signed bytes no ticket names');
    p.detail(`unlisted bytes: refused (${lastLine(other.stderr)})`);
    await runTool('rpmsign', ['--addsign', '--define', `__gpg ${wrapper}`, '--define', `_gpg_name ${fpr}`, rpm], { env: env(BUILD), cwd: home });
    p.detail(`signed ${basename(rpm)}`);

    p.step('verdicts from real tools');
    const rpmdb = join(work, 'rpmdb');
    mkdirSync(rpmdb, { recursive: true });
    await runTool('rpmkeys', ['--dbpath', rpmdb, '--import', join(work, 'signing-key.pub.asc')]);
    const k = await runTool('rpmkeys', ['--dbpath', rpmdb, '-Kv', rpm]);
    const sigLine = k.stdout.split('\n').find((l) => /Signature, key ID/.test(l))?.trim() ?? '';
    if (!/OK$/.test(sigLine) || /NOT OK|NOKEY/.test(k.stdout)) throw new QbuildError('gate', `rpmkeys -K did not verify the package: ${k.stdout.trim()}`);
    p.detail(`rpmkeys -Kv: ${sigLine}`);
    const auditor = join(work, 'auditor-gnupg');
    mkdirSync(auditor, { recursive: true, mode: 0o700 });
    await runTool('gpg', ['--homedir', auditor, '--batch', '--import', join(paths.qube(LOGS).state, 'pgp-public.asc')]);
    const vc = await runTool('git', ['-C', store, 'verify-commit', 'HEAD'], { env: { ...process.env, GNUPGHOME: auditor } });
    const good = vc.stderr.split('\n').find((l) => l.includes('Good signature'));
    if (!good) throw new QbuildError('gate', `git verify-commit failed: ${vc.stderr.trim()}`);
    p.detail(`git verify-commit HEAD: ${good.replace(/^gpg:\s*/, '')}`);
    const logText = readFileSync(join(store, logPath), 'utf8');
    const stored = logText.split('\n').filter((l) => l.includes('qbuild-sign sha256:'));
    p.detail(`the log names the signed header: ${stored[0]?.slice(0, 90) ?? '(missing)'}…`);
    p.detail(`log sha256 ${createHash('sha256').update(logText).digest('hex').slice(0, 16)}… (${logText.split('\n').length - 1} lines)`);

    process.stdout.write(`\nverified: ${basename(rpm)} is signed by ${KEYS}, and only because ${logPath} was published first.\n`);
    process.stdout.write(`everything is in ${work}${opts.keep ? ` (simulator still running: qbuild sim down --formula ${formula})` : ''}\n`);
    return 0;
  } finally {
    if (up && !opts.keep) await runTool(bin, ['sim', 'down', '--formula', formula], { allowFail: true });
    // gpg starts an agent per home directory; the demo's homes are done with.
    for (const home of ['release-engineer-gnupg', 'auditor-gnupg']) {
      if (existsSync(join(work, home))) await runTool('gpgconf', ['--homedir', join(work, home), '--kill', 'all'], { allowFail: true });
    }
  }
}
