import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { QbuildError } from '../errors.js';
import { simBinary } from '../protocol/qrexec/sim/binary.js';
import { simPaths } from '../protocol/qrexec/sim/layout.js';
import { debianBuildVersion } from '../protocol/build/debian-version.js';
import { FIXTURE_EXECUTABLES, FIXTURE_NAME, fixtureComponentFiles } from './fixture-component.js';
import { Progress, runTool } from './steps.js';
import { aptVerdict, dnfVerdict, gpgvVerdict, qbuildVerifyVerdict, rpmKeysVerdict } from './verdicts.js';
import { expectJob, LOGS_VM, World, type JobView } from './world.js';

export interface DemoOptions { dir?: string; keep: boolean }

const COMPONENT = 'fixture';
const VERSION = '1.0.0';

/** Real tools the demo drives; each missing one is a clear error before anything starts. */
async function checkTools(): Promise<void> {
  const tools: [string, string, string[]][] = [
    ['rpmbuild', 'rpm', ['--version']], ['rpmsign', 'rpm', ['--version']], ['createrepo_c', 'createrepo-c', ['--version']],
    ['dnf', 'dnf', ['--version']], ['dpkg-buildpackage', 'dpkg-dev', ['--version']], ['dh_assistant', 'debhelper', ['--help']],
    ['apt-ftparchive', 'apt-utils', ['--version']], ['gpg', 'gnupg', ['--version']], ['gpgv', 'gpgv', ['--version']],
    ['git', 'git', ['--version']], ['rsync', 'rsync', ['--version']], ['ssh', 'openssh-client', ['-V']], ['/usr/sbin/sshd', 'openssh-server', ['-V']],
  ];
  for (const [tool, pkg, args] of tools) {
    await runTool(tool, args).catch(() => {
      throw new QbuildError('config', `the demo needs ${tool} (Debian package ${pkg})`);
    });
  }
}

function stageLines(p: Progress, vm: string, job: JobView): void {
  for (const s of job.stages) p.detail(`${vm} ${s.name.padEnd(20)} ${s.status.padEnd(6)} log ${s.log ?? '(not stored)'}`);
}

/** Every file under `dir`, relative, sorted (symlinks followed). */
function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() || (e.isSymbolicLink() && existsSync(join(p, '.'))) ? files(p, base) : [relative(base, p)];
  }).sort();
}

/**
 * `qbuild demo`: the real pipeline in a fresh simulator. A maintainer signs tag v1.0.0 of a
 * small component; GitHub (a loopback git http-backend) sends the push webhook to sys-net,
 * which forwards TriggerBuild to both build qubes; each build daemon fetches and verifies the
 * tag, builds (RPM for Fedora, Debian package for Debian), streams every stage's log to the
 * logs qube, gets the packages and the repository metadata signed by its keys qube through
 * the ticket gate, publishes current-testing and uploads it over ssh through sys-net's
 * local.ConnectSSH to a loopback sshd. The verdicts come from rpmkeys, gpgv, dnf, apt, git and
 * the auditor's qbuild verify on a clone of the logs repository.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const p = new Progress();
  await checkTools();
  const bin = simBinary();
  const work = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), 'qbuild-demo-')));
  mkdirSync(work, { recursive: true });
  let world: World | undefined;
  try {
    p.step('dev box: maintainer and release keys (GnuPG), GitHub (git http-backend) and the upload host (sshd) on loopback; dom0 provisions; sim up');
    world = await World.create({
      work, bin, component: COMPONENT, recipe: '[rpm, deb]',
      envs: [{ name: 'fedora', dists: ['vm-fc42'] }, { name: 'debian', dists: ['vm-bookworm'] }],
    }, (l) => p.detail(l));
    const w = world;

    p.step(`maintainer: release ${COMPONENT} ${VERSION} (a commit and the signed tag v${VERSION}, pushed)`);
    const commit = await w.release(VERSION, fixtureComponentFiles(VERSION), FIXTURE_EXECUTABLES);
    p.detail(`${w.git.url(`qubes-${COMPONENT}`)} at ${commit}, tag v${VERSION} signed by ${w.maintainers[0]!.fpr}`);

    p.step('GitHub: the push webhook to sys-net (HMAC-signed), forwarded as TriggerBuild to every build qube');
    const status = await w.pushWebhook();
    if (status !== 202) throw new QbuildError('io', `sys-net answered the webhook with HTTP ${status}`);
    p.detail(`sys-net: HTTP ${status}; each build daemon queues the job and runs its stages, each stage its own log`);

    p.step('build qubes: fetch + verify, build, sign (ticket gate), publish, release, upload');
    const jobs = new Map<string, JobView>();
    for (const env of ['fedora', 'debian']) {
      const vm = `build-${env}`;
      const job = expectJob(await w.finishedJob(vm, 0), 'ok');
      jobs.set(env, job);
      stageLines(p, vm, job);
    }

    p.step('verdicts of real tools, as users and auditors run them');
    const v = join(work, 'verdicts');
    mkdirSync(v, { recursive: true });
    const fedoraKey = await w.signingKeyFile('fedora');
    const rpmRepo = join(w.repositoryRoot('fedora'), 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42');
    const rpm = join(rpmRepo, 'rpm', readdirSync(join(rpmRepo, 'rpm')).find((n) => n.startsWith(FIXTURE_NAME) && n.endsWith('.noarch.rpm'))!);
    p.detail(`rpmkeys -Kv ${relative(work, rpm)}: ${await rpmKeysVerdict(rpm, fedoraKey, mkdtempSync(join(v, 'rpm-')))}`);
    p.detail(`gpgv repomd.xml.asc: ${await gpgvVerdict(join(rpmRepo, 'repodata', 'repomd.xml.asc'), join(rpmRepo, 'repodata', 'repomd.xml'), fedoraKey, mkdtempSync(join(v, 'gpgv-')))}`);
    const got = await dnfVerdict(rpmRepo, fedoraKey, FIXTURE_NAME, '42', mkdtempSync(join(v, 'dnf-')));
    p.detail(`dnf (gpgcheck=1 repo_gpgcheck=1) install --downloadonly: ${relative(work, got)}`);

    const debianKey = await w.signingKeyFile('debian');
    const debSet = join(w.repositoryRoot('debian'), 'deb', 'r4.3', 'vm');
    const inRelease = join(debSet, 'dists', 'bookworm-testing', 'InRelease');
    p.detail(`gpgv InRelease: ${await gpgvVerdict(inRelease, undefined, debianKey, mkdtempSync(join(v, 'gpgv-')))}`);
    // The deb recipe builds VERSION for bookworm as VERSION+deb12u1 (its own changelog entry).
    const dscName = `${FIXTURE_NAME}_${debianBuildVersion(VERSION, 'bookworm')}.dsc`;
    const dsc = join(debSet, 'pool', 'main', 'q', FIXTURE_NAME, dscName);
    p.detail(`gpgv ${dscName} (clearsigned source): ${await gpgvVerdict(dsc, undefined, debianKey, mkdtempSync(join(v, 'gpgv-')))}`);
    const deb = await aptVerdict(debSet, 'bookworm-testing', debianKey, FIXTURE_NAME, mkdtempSync(join(v, 'apt-')));
    p.detail(`apt-get update + download (signed-by= the release key): ${relative(work, deb)}`);

    for (const [env, sub] of [['fedora', 'yum'], ['debian', 'deb']] as const) {
      const up = files(join(w.sshd.root, sub));
      if (up.length === 0) throw new QbuildError('stage', `nothing was uploaded for ${env}`);
      p.detail(`upload host (sshd, reached only via sys-net local.ConnectSSH): ${sub}/ holds ${up.length} files, e.g. ${up.find((f) => f.endsWith('.rpm') || f.endsWith('.deb')) ?? up[0]}`);
    }

    const store = join(simPaths(w.formula).qube(LOGS_VM).state, 'store');
    const auditor = join(work, 'auditor-gnupg');
    mkdirSync(auditor, { recursive: true, mode: 0o700 });
    await runTool('gpg', ['--homedir', auditor, '--batch', '--import', join(simPaths(w.formula).qube(LOGS_VM).state, 'pgp-public.asc')]);
    const vc = await runTool('git', ['-C', store, 'verify-commit', 'HEAD'], { env: { ...process.env, GNUPGHOME: auditor } });
    const good = vc.stderr.split('\n').find((l) => l.includes('Good signature'));
    if (!good) throw new QbuildError('gate', `git verify-commit failed: ${vc.stderr.trim()}`);
    p.detail(`logs repository: ${(await runTool('git', ['-C', store, 'rev-list', '--count', 'HEAD'])).stdout.trim()} signed commits; git verify-commit HEAD: ${good.replace(/^gpg:\s*/, '')}`);
    await runTool('gpgconf', ['--homedir', auditor, '--kill', 'all'], { allowFail: true });

    // An auditor's check from a clone: package signature → ledger entry → inclusion proof →
    // signed checkpoint → signed commit → the log's bytes → provenance (docs/transparency.md).
    const clone = join(v, 'logs-clone');
    await runTool('git', ['clone', '-q', store, clone]);
    const logKey = (await w.inQube(LOGS_VM, ['role', 'logs', 'verifier-key'])).stdout.trim();
    const gitKey = join(v, 'logs-git.asc');
    writeFileSync(gitKey, (await w.inQube(LOGS_VM, ['role', 'logs', 'git-key'])).stdout);
    const audit = ['--logs-repo', clone, '--log-key', logKey, '--git-key', gitKey];
    p.detail(`qbuild verify package ${relative(work, rpm)}: ${await qbuildVerifyVerdict(bin, ['package', rpm, '--signing-key', fedoraKey, ...audit])}`);
    p.detail(`qbuild verify package InRelease: ${await qbuildVerifyVerdict(bin, ['package', inRelease, '--signing-key', debianKey, ...audit])}`);
    const packages = join(debSet, 'dists', 'bookworm-testing', 'main', 'binary-amd64', 'Packages');
    p.detail(`qbuild verify package ${basename(deb)} (apt's download, through InRelease and Packages): ${await qbuildVerifyVerdict(bin, ['package', deb, '--release', inRelease, '--packages', packages, '--signing-key', debianKey, ...audit])}`);
    p.detail(`qbuild verify ledger: ${await qbuildVerifyVerdict(bin, ['ledger', ...audit])}`);
    const buildLog = jobs.get('fedora')!.stages.find((s) => s.name === 'build-vm-fc42')?.log;
    if (buildLog) {
      const named = readFileSync(join(store, buildLog), 'utf8').split('\n').filter((l) => l.includes('qbuild-sign '));
      p.detail(`${buildLog} names what was signed: ${named[0]?.replace(/^.*?: /, '').slice(0, 100) ?? '(nothing)'}`);
    }

    process.stdout.write(`\nverified: ${COMPONENT} ${VERSION} built from a maintainer-signed tag, signed only after each stage's log was published and ledgered, in signed repositories, uploaded; an auditor's qbuild verify accepts it.\n`);
    process.stdout.write(`everything is in ${work}${opts.keep ? ` (simulator still running: qbuild sim down --formula ${w.formula})` : ''}\n`);
    return 0;
  } finally {
    // --keep leaves the simulator up; the git server and sshd live in this process and go.
    if (world) await (opts.keep ? world.stopServers() : world.down());
  }
}
