import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { generateNoteKey, parseSignerKey } from '../../src/protocol/note/note.js';
import { formatBuildMeta } from '../../src/protocol/provenance/build-meta.js';
import { rpmSignDigest } from '../../src/protocol/rpm/header-blob.js';
import { formDigest } from '../../src/protocol/signform.js';
import { signCheckpoint } from '../../src/protocol/tlog/checkpoint.js';
import { encodeEntry, type LedgerEntry } from '../../src/protocol/tlog/entry.js';
import { leafHash, MerkleTree } from '../../src/protocol/tlog/merkle.js';
import { bundlesFor, tilesFor } from '../../src/protocol/tlog/tiles.js';
import { provenanceFiles } from '../../src/roles/logs/ledger/provenance.js';
import { afterAll, beforeAll } from 'vitest';
import { qbuildBin } from '../helpers/binary.js';
import { GpgHome } from '../helpers/gpg.js';
import { run } from '../helpers/run.js';

/**
 * A logs repository made the way the logs VM publishes one (docs/transparency.md), built here
 * from the same pure pieces (TLOG's tree, tiles and checkpoint; the provenance envelope) with
 * real git, gpg and rpmsign: one signed `Add <path>` commit per log carrying the log, its
 * provenance, `checkpoint` and the tiles of the growth. Lets `qbuild verify` be tested on
 * every kind of damage without a whole simulated world.
 */
export interface HandMadeRepo {
  dir: string;
  gpg: GpgHome;
  /** The logs VM's note verifier key. */
  logVkey: string;
  logSigner: ReturnType<typeof parseSignerKey>;
  gitKeyFile: string;
  signingKeyFile: string;
  /** A signed rpm whose header digest the second log names. */
  rpm: string;
  /** A detached-signed file (repomd.xml) the third log names. */
  repomd: string;
  repomdSig: string;
  /** A cleartext-signed file (InRelease of a Release the third log names in clearsign form). */
  inRelease: string;
  /** A .deb (dpkg-deb) in that suite: its Packages index (apt-ftparchive), listed by the Release. */
  deb: string;
  packages: string;
  packagesGz: string;
  logs: string[];
  entries: LedgerEntry[];
  tree: MerkleTree;
  origin: string;
}

const T = '2026-01-02 03:04:05.000006 +0000';
const git = (dir: string, args: string[], env: NodeJS.ProcessEnv) => execFileSync('git', ['-C', dir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');

export function makeLogsRepo(root: string): HandMadeRepo {
  const gpg = new GpgHome();
  const gitFpr = gpg.generateKey('qbuild logs <logs@logs.qbuild.invalid>');
  const pkgFpr = gpg.generateKey('Qubes test signing key <sign@example.invalid>');
  const gitKeyFile = join(root, 'logs-git.asc');
  const signingKeyFile = join(root, 'signing.asc');
  writeFileSync(gitKeyFile, gpg.gpgSync(['--armor', '--export', gitFpr]));
  writeFileSync(signingKeyFile, gpg.gpgSync(['--armor', '--export', pkgFpr]));
  const env = {
    ...gpg.env, GIT_CONFIG_NOSYSTEM: '1', HOME: root,
    GIT_AUTHOR_NAME: 'qbuild logs', GIT_AUTHOR_EMAIL: 'logs@logs.qbuild.invalid', GIT_COMMITTER_NAME: 'qbuild logs', GIT_COMMITTER_EMAIL: 'logs@logs.qbuild.invalid',
  };

  const rpm = join(root, 'qbuild-hello-1.0-1.noarch.rpm');
  copyFileSync(new URL('../fixtures/rpm/qbuild-hello-1.0-1.noarch.rpm', import.meta.url), rpm);
  execFileSync('rpmsign', ['--define', `_gpg_name ${pkgFpr}`, '--define', '__gpg /usr/bin/gpg', '--addsign', rpm], { env: gpg.env, stdio: 'ignore' });
  const repomd = join(root, 'repomd.xml');
  writeFileSync(repomd, '<?xml version="1.0"?>\n<repomd/>\n');
  const repomdSig = `${repomd}.asc`;
  gpg.gpgSync(['-u', pkgFpr, '--armor', '--detach-sign', '--output', repomdSig, repomd]);
  const { deb, packages, packagesGz, release } = debSuite(join(root, 'deb'));
  writeFileSync(join(root, 'Release'), release);
  const inRelease = join(root, 'InRelease');
  gpg.gpgSync(['-u', pkgFpr, '--clearsign', '--output', inRelease, join(root, 'Release')]);

  const keys = generateNoteKey('qbuild-logs/logs-test');
  const logSigner = parseSignerKey(keys.signerKey);
  const origin = 'qbuild.logs/logs-test';
  const dir = join(root, 'logs.git-work');
  mkdirSync(dir);
  git(dir, ['init', '-q', '-b', 'main'], env);
  git(dir, ['config', 'user.signingkey', gitFpr], env);
  git(dir, ['config', 'commit.gpgsign', 'true'], env);

  const tree = new MerkleTree();
  const entries: LedgerEntry[] = [];
  const encoded: Buffer[] = [];
  const specs = [
    { stage: 'fetch', digests: [] as LedgerEntry['digests'] },
    { stage: 'build-vm-fc41', digests: [{ form: 'binary' as const, sha256: rpmSignDigest(readFileSync(rpm)), label: 'qbuild-hello-1.0-1.noarch.rpm' }] },
    { stage: 'publish-vm-fc41', digests: [
      { form: 'binary' as const, sha256: createHash('sha256').update(readFileSync(repomd)).digest('hex'), label: 'repomd.xml' },
      { form: 'clearsign' as const, sha256: formDigest('clearsign', Buffer.from(release)), label: 'Release' },
    ] },
  ];
  const logs: string[] = [];
  specs.forEach((s, i) => {
    const path = `build-fc/hello/log_2026-01-02_03-04-0${i}`;
    const body = [
      `${T} > starting log`,
      `${T} build-fc: qbuild stage ${s.stage}: hello 1.0, job j1 (attempt 1) on build-fc`,
      ...formatBuildMeta({ component: 'hello', tag: 'v1.0-1', commit: 'f'.repeat(40), release: 'r4.2', dist: s.stage === 'fetch' ? undefined : 'vm-fc41', env: 'fedora', job: 'j1', stage: s.stage })
        .trimEnd().split('\n').map((l) => `${T} build-fc: ${l}`),
      ...s.digests.map((d) => `${T} build-fc: qbuild-sign ${d.form === 'clearsign' ? 'clearsign-sha256' : 'sha256'}:${d.sha256} ${d.label}`),
      `${T} build-fc: qbuild-log-end`,
      `${T} > closing log`,
    ].join('\n') + '\n';
    const entry: LedgerEntry = {
      vm: 'build-fc', path, logSha256: createHash('sha256').update(body).digest('hex'), digests: s.digests,
      start: `2026-01-02T03:04:0${i}Z`, end: `2026-01-02T03:05:0${i}Z`,
    };
    const old = tree.size;
    const bytes = encodeEntry(entry);
    entries.push(entry);
    encoded.push(bytes);
    const index = tree.append(leafHash(bytes));
    const note = signCheckpoint({ origin, size: tree.size, root: tree.root(), extensions: [] }, logSigner);
    const files = [
      { path, bytes: Buffer.from(body) },
      { path: 'checkpoint', bytes: Buffer.from(note) },
      ...tilesFor(tree, old, tree.size),
      ...bundlesFor(old, tree.size, (k) => encoded[k]!),
      ...provenanceFiles({ entry, leafIndex: index, checkpoint: note, buildVm: 'build-fc', env: 'fedora', log: Buffer.from(body) }, logSigner),
    ];
    for (const f of files) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.bytes);
    }
    git(dir, ['add', '--', ...files.map((f) => f.path)], env);
    git(dir, ['commit', '-q', '-m', `Add ${path}`], env);
    logs.push(path);
  });
  return { dir, gpg, logVkey: keys.verifierKey, logSigner, gitKeyFile, signingKeyFile, rpm, repomd, repomdSig, inRelease, deb, packages, packagesGz, logs, entries, tree, origin };
}

/**
 * A one-package Debian suite as the publish stage makes one: a .deb built by dpkg-deb, its
 * pool, Packages and Packages.gz by apt-ftparchive, and the suite's Release (trailing blanks
 * after Suite kept: the clearsign form must not depend on them).
 */
function debSuite(dir: string): { deb: string; packages: string; packagesGz: string; release: string } {
  const pkg = join(dir, 'src', 'DEBIAN');
  mkdirSync(pkg, { recursive: true });
  mkdirSync(join(dir, 'src', 'usr', 'share', 'doc', 'qbuild-hello'), { recursive: true });
  writeFileSync(join(dir, 'src', 'usr', 'share', 'doc', 'qbuild-hello', 'README'), 'hello\n');
  writeFileSync(join(pkg, 'control'), 'Package: qbuild-hello\nVersion: 1.0-1+deb12u1\nArchitecture: all\nMaintainer: Qubes test <t@example.invalid>\nDescription: a test package\n');
  const pool = join(dir, 'pool', 'main', 'q', 'qbuild-hello');
  mkdirSync(pool, { recursive: true });
  const deb = join(pool, 'qbuild-hello_1.0-1+deb12u1_all.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', join(dir, 'src'), deb], { stdio: 'ignore' });
  const bin = join(dir, 'dists', 'bookworm-testing', 'main', 'binary-amd64');
  mkdirSync(bin, { recursive: true });
  const packages = join(bin, 'Packages');
  writeFileSync(packages, execFileSync('apt-ftparchive', ['packages', 'pool'], { cwd: dir }));
  execFileSync('gzip', ['-9nk', packages]);
  const release = execFileSync('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Suite=bookworm-testing', '-o', 'APT::FTPArchive::Release::Codename=bookworm',
    'release', join('dists', 'bookworm-testing')], { cwd: dir }).toString('utf8').replace(/^Suite: bookworm-testing$/m, '$&  ');
  return { deb, packages, packagesGz: `${packages}.gz`, release };
}

/** A git command in a test clone, committing unsigned (what someone without the logs key can do). */
export function gitIn(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=mallory', '-c', 'user.email=m@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  }).toString('utf8');
}

/**
 * The hand-made repository one test file shares: made before its tests, removed after. The
 * object returned is filled in by the file's beforeAll.
 */
export function logsRepoForTests(prefix: string): HandMadeRepo {
  const r = {} as HandMadeRepo;
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), prefix));
    Object.assign(r, makeLogsRepo(root));
  });
  afterAll(() => {
    r.gpg?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return r;
}

/** A fresh clone of the published repository under `dir`, as an auditor makes one. */
export function cloneLogsRepo(r: HandMadeRepo, dir: string): string {
  const d = join(dir, 'clone');
  gitIn(r.dir, ['clone', '-q', r.dir, d]);
  return d;
}

/** `qbuild verify ARGS` on the clone `repo`, with the repository's log and git keys. */
export async function verifyClone(r: HandMadeRepo, repo: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const res = await run(qbuildBin(), ['verify', ...args, '--logs-repo', repo, '--log-key', r.logVkey, '--git-key', r.gitKeyFile]);
  return { code: res.code, out: res.stdout.toString('utf8'), err: res.stderr.trim() };
}

