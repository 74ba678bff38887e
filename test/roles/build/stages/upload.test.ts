import { randomBytes } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadStage } from '../../../../src/roles/build/stages/upload.js';
import { ensureSshKey } from '../../../../src/roles/build/ssh-key.js';
import { rpmRepoLink } from '../../../../src/roles/build/repo/rpm-repo.js';
import { debRepoLink } from '../../../../src/roles/build/repo/deb-repo.js';
import { stageTree, swapIn, swapUnit } from '../../../../src/roles/build/repo/tree-swap.js';
import type { BuildConfig, PublishedDist, StageContext, UploadTarget } from '../../../../src/roles/build/pipeline/types.js';
import type { BuildLogStream } from '../../../../src/roles/build/log-stream.js';
import { QbuildError } from '../../../../src/errors.js';
import { repoRoot } from '../../../helpers/binary.js';
import { editVmConfig, startSim, type SimHandle } from '../../../helpers/sim.js';
import { startSshd, type Sshd } from '../../../helpers/sshd.js';
import { run } from '../../../helpers/run.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { withDeadline } from '../../../helpers/wait.js';

const BUILD_VM = 'build-fedora';
const HOME_FILE = 'localhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFormulaHomeFileCopiedBySimUp0000000000000\n';
const tmp = tempDirs('qbuild-upload-');
let sshd: Sshd;
let sim: SimHandle;

/** Every file under `dir` (relative path → bytes); directories and symlinks followed as rsync -a would not. */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory())) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

function expectSameTree(remote: string, local: string): void {
  const want = tree(local);
  const got = tree(remote);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) expect(got.get(k)!.equals(v), k).toBe(true);
}

const FC42 = { name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' } as const;
const BOOKWORM = { name: 'vm-bookworm', set: 'vm', dist: 'bookworm', format: 'deb' } as const;

/** Publishes `write`'s files as the publish stage does: a staged tree, then swapped in under the dist's link. */
function publish(link: string, write: (dir: string) => void | Promise<void>): Promise<void> {
  const staged = stageTree(swapUnit(link));
  return Promise.resolve(write(staged.dir)).then(() => { swapIn(staged); });
}

function put(path: string, data: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

/**
 * A repository as the publish stage leaves it (its own link paths and tree swap): an rpm
 * tree with repodata made by createrepo_c and a hard link; a Debian set with its pool and two
 * suites, of which only bookworm-testing is this dist's.
 */
async function publishedRepo(root: string): Promise<PublishedDist[]> {
  const rpmLink = rpmRepoLink(root, 'r4.3', FC42);
  await publish(rpmLink, async (dir) => {
    put(join(dir, 'rpm', 'qubes-pkg-1.0-1.fc42.x86_64.rpm'), randomBytes(200_000));
    put(join(dir, 'sub', 'file with space.bin'), randomBytes(3000));
    linkSync(join(dir, 'rpm', 'qubes-pkg-1.0-1.fc42.x86_64.rpm'), join(dir, 'hardlink.rpm'));
    const cr = await run('createrepo_c', ['-q', dir]);
    expect(cr.stderr).toBe('');
  });
  const debLink = debRepoLink(root, 'r4.3', BOOKWORM);
  await publish(debLink, (dir) => {
    put(join(dir, 'pool', 'main', 'q', 'qubes-pkg', 'qubes-pkg_1.0_amd64.deb'), randomBytes(50_000));
    put(join(dir, 'dists', 'bookworm-testing', 'main', 'binary-amd64', 'Packages'), 'Package: qubes-pkg\nVersion: 1.0\n\n');
    put(join(dir, 'dists', 'bookworm-testing', 'InRelease'), randomBytes(900));
    put(join(dir, 'dists', 'bookworm', 'InRelease'), 'another suite: not this upload\'s\n');
  });
  return [{ dist: FC42, repoDir: rpmLink, logPath: 'x' }, { dist: BOOKWORM, repoDir: debLink, logPath: 'y' }];
}

/** A BuildLogStream that keeps what the stage wrote. */
function memoryLog(): BuildLogStream & { text(): string } {
  const parts: Buffer[] = [];
  return {
    write: (d) => { parts.push(Buffer.from(d)); },
    manifest: () => { throw new Error('the upload stage signs nothing'); },
    finish: async () => 'log',
    text: () => Buffer.concat(parts).toString('utf8'),
  };
}

/** The stage's context as the build daemon gives it: the build qube's config from provision and its environment. */
function context(upload: BuildConfig['upload'], edit: (c: BuildConfig) => void = () => {}): StageContext {
  const section = (JSON.parse(readFileSync(sim.configPath(BUILD_VM), 'utf8')) as { build: Pick<BuildConfig, 'sshProxyVm' | 'remoteHosts'> }).build;
  const config = {
    vm: BUILD_VM, env: 'fedora', logsVm: 'logs', keysVm: 'keys-fedora', release: 'r4.3', dists: [], components: [],
    maintainerKeys: '', signKey: '', repositoryRoot: '/unused', upload,
    sshProxyVm: section.sshProxyVm, remoteHosts: section.remoteHosts, commandsPublicKeys: null,
  } satisfies BuildConfig;
  edit(config);
  return {
    config, env: sim.env(BUILD_VM), qbuildBin: sim.bin, workDir: tmp(),
    openLog: () => { throw new Error('the stage gets its log'); }, signal: new AbortController().signal,
  };
}

const target = (path: string, host = 'localhost'): UploadTarget => ({ host, user: sshd.user, path });
const connections = () => (sshd.log().match(/Connection from 127\.0\.0\.1/g) ?? []).length;

// Each step bounded and named: a hang on a loaded CI machine says which step it was.
beforeAll(async () => {
  sshd = await withDeadline('start sshd', 30_000, startSshd());
  const pillar = YAML.parse(readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8')) as { 'build-infra': Record<string, Record<string, unknown>> };
  pillar['build-infra']['remote-hosts']!['localhost'] = { ssh_user: sshd.user, ssh_host_enc: sshd.hostKey.type, ssh_host_key: sshd.hostKey.key };
  sim = await startSim({
    pillar: YAML.stringify(pillar),
    daemons: false,
    configure: (dir) => {
      editVmConfig<{ sysnet: Record<string, unknown> }>(dir, 'sys-net', (c) => { c.sysnet = { ...c.sysnet, sshPort: sshd.port }; });
      // What provision's Salt puts in the build qube's home: sim up must copy it there.
      mkdirSync(join(dir, 'files', BUILD_VM, 'home', '.ssh'), { recursive: true });
      writeFileSync(join(dir, 'files', BUILD_VM, 'home', '.ssh', 'known_hosts'), HOME_FILE);
    },
  });
  const key = await withDeadline("the build qube's ssh key", 30_000, ensureSshKey(sim.stateDir(BUILD_VM)));
  sshd.authorize(key.publicKeyLine);
}, 150_000);
afterAll(async () => {
  await sim?.down();
  await sshd?.close();
});

describe('upload stage through the simulator', () => {
  it('lands every published tree on the sshd, as real files, via sys-net local.ConnectSSH', async () => {
    const published = await publishedRepo(tmp());
    const remote = tmp();
    const log = memoryLog();
    await uploadStage(context({ rpm: target(join(remote, 'rpm')), deb: target(join(remote, 'deb')) }), published, log);

    const fc42 = join(remote, 'rpm', 'current-testing', 'vm', 'fc42');
    expectSameTree(fc42, published[0]!.repoDir);
    expectSameTree(join(remote, 'deb', 'vm', 'pool'), join(published[1]!.repoDir, 'pool'));
    expectSameTree(join(remote, 'deb', 'vm', 'dists', 'bookworm-testing'), join(published[1]!.repoDir, 'dists', 'bookworm-testing'));
    // Only this dist's suite; the swap links were resolved (the mirror holds directories); the hard link stays one.
    expect(readdirSync(join(remote, 'deb', 'vm', 'dists'))).toEqual(['bookworm-testing']);
    expect(readdirSync(join(remote, 'deb', 'vm')).sort()).toEqual(['dists', 'pool']);
    expect(lstatSync(fc42).isDirectory()).toBe(true);
    expect(statSync(join(fc42, 'hardlink.rpm')).ino).toBe(statSync(join(fc42, 'rpm', 'qubes-pkg-1.0-1.fc42.x86_64.rpm')).ino);
    expect(readdirSync(remote).sort()).toEqual(['deb', 'rpm']);

    expect(log.text()).toMatch(/upload: vm-fc42: .* -> .*@localhost:.*\/rpm\/current-testing\/vm\/fc42\//);
    expect(log.text()).toMatch(/^<f\+{9} repodata\/repomd\.xml$/m); // rsync -i, streamed into the log
    expect(log.text()).toMatch(/upload: done\n$/);
    expect(sim.routerLog()).toMatch(/allow build-fedora -> sys-net local\.ConnectSSH\+localhost/);
    expect(sshd.log()).toMatch(new RegExp(`Accepted publickey for ${sshd.user} from 127\\.0\\.0\\.1`));
  }, 60_000);

  it('after the next publication swaps the link, sends only what changed; unchanged, nothing', async () => {
    const root = tmp();
    const published = await publishedRepo(root);
    const remote = tmp();
    const ctx = context({ rpm: target(remote) });
    await uploadStage(ctx, published.slice(0, 1), memoryLog());
    await publish(published[0]!.repoDir, (dir) => put(join(dir, 'rpm', 'qubes-pkg-1.1-1.fc42.x86_64.rpm'), randomBytes(1000)));
    const log = memoryLog();
    await uploadStage(ctx, published.slice(0, 1), log);
    expect(log.text().match(/^<f.*$/gm)).toEqual(['<f+++++++++ rpm/qubes-pkg-1.1-1.fc42.x86_64.rpm']);
    expectSameTree(join(remote, 'current-testing', 'vm', 'fc42'), published[0]!.repoDir);
    const again = memoryLog();
    await uploadStage(ctx, published.slice(0, 1), again);
    expect(again.text()).not.toMatch(/^<f/m);
  }, 60_000);

  it('refuses a host whose key is not the pinned one, and writes nothing', async () => {
    const published = await publishedRepo(tmp());
    const remote = tmp();
    const other = await ensureSshKey(tmp());
    const wrongKey = other.publicKeyLine.split(' ')[1]!;
    const ctx = context({ rpm: target(remote) }, (c) => {
      c.remoteHosts = c.remoteHosts.map((h) => (h.host === 'localhost' ? { ...h, keyType: 'ssh-ed25519', key: wrongKey } : h));
    });
    const log = memoryLog();
    const err = await uploadStage(ctx, published, log).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QbuildError);
    expect((err as QbuildError).code).toBe('stage');
    expect((err as Error).message, log.text()).toMatch(/^upload of vm-fc42 to localhost failed: the ssh connection failed: Host key verification failed\.$/);
    expect(log.text()).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(readdirSync(remote)).toEqual([]);
  }, 60_000);

  it('a host not in remote-hosts is refused by the qrexec policy: sshd never sees a connection', async () => {
    const published = await publishedRepo(tmp());
    const remote = tmp();
    const before = connections();
    const log = memoryLog();
    const err = await uploadStage(context({ rpm: target(remote, 'mirror.example.net') }), published, log).catch((e: unknown) => e);
    expect((err as QbuildError).code).toBe('stage');
    expect((err as Error).message, log.text()).toMatch(/^upload of vm-fc42 to mirror\.example\.net failed: the ssh connection failed: Request refused$/);
    expect((err as Error).message).not.toContain('\n');
    expect(sim.routerLog()).toMatch(/deny build-fedora -> sys-net local\.ConnectSSH\+mirror\.example\.net/);
    expect(connections()).toBe(before);
    expect(readdirSync(remote)).toEqual([]);
  }, 60_000);

  it('without an upload target it logs so and does nothing', async () => {
    const published = await publishedRepo(tmp());
    const before = connections();
    const log = memoryLog();
    await uploadStage(context({}), published, log);
    expect(log.text()).toBe(
      'upload: no rpm upload target configured (pillar upload:rpm): vm-fc42 not uploaded\n'
      + 'upload: no deb upload target configured (pillar upload:deb): vm-bookworm not uploaded\n'
      + 'upload: nothing to upload\n',
    );
    expect(connections()).toBe(before);
  });
});

describe("the build qube's qrexec-client-vm (simulator shim)", () => {
  const shim = () => join(sim.qubeDir(BUILD_VM), 'bin', 'qrexec-client-vm');

  it('is first on the qube PATH and passes the exit code through', async () => {
    const which = await run('sh', ['-c', 'command -v qrexec-client-vm'], { env: sim.env(BUILD_VM) });
    expect(which.stdout.toString().trim()).toBe(shim());
    const denied = await run('qrexec-client-vm', ['sys-net', 'local.ConnectSSH+not-allowed.example'], { env: sim.env(BUILD_VM) });
    expect(denied.code).toBe(126);
  });

  it('relays the ssh stream byte for byte (the sshd greets first)', async () => {
    const r = await run('qrexec-client-vm', ['sys-net', 'local.ConnectSSH+localhost'], { env: sim.env(BUILD_VM), stdin: '' });
    expect(r.stdout.toString()).toMatch(/^SSH-2\.0-OpenSSH_/);
  });

  it("sim up copied the formula's files/<vm>/home into the qube's home", () => {
    expect(readFileSync(join(sim.qubeDir(BUILD_VM), 'home', '.ssh', 'known_hosts'), 'utf8')).toBe(HOME_FILE);
  });

  it('refuses the local_program form and options with one clear line', async () => {
    const prog = await run(shim(), ['sys-net', 'local.ConnectSSH+localhost', '/bin/cat'], { env: sim.env(BUILD_VM) });
    expect(prog.code).toBe(2);
    expect(prog.stderr).toBe('qrexec-client-vm (qbuild simulator): the local_program form is not supported: use TARGET SERVICE[+ARG] with stdin/stdout\n');
    const opt = await run(shim(), ['-T', 'sys-net'], { env: sim.env(BUILD_VM) });
    expect(opt.code).toBe(2);
    expect(opt.stderr).toMatch(/options are not supported/);
  });
});
