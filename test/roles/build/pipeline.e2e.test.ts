import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin } from '../../helpers/binary.js';
import { World, type JobView } from '../../../src/demo/world.js';
import { dnfVerdict, gpgvVerdict, rpmKeysVerdict } from '../../../src/demo/verdicts.js';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../../src/demo/fixture-component.js';
import { waitFor } from '../../helpers/wait.js';

// The build pipeline end to end, through the simulator and the built binary, with real tools:
// a push webhook into sys-net → TriggerBuild → the build daemon → logs, tickets, signatures,
// a signed repository, an rsync upload to a loopback sshd through local.ConnectSSH.
const VM = 'build-fedora';
let world: World;
let work: string;
let n = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-e2e-'));
  world = await World.create({ work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }] });
}, 120_000);
afterAll(async () => {
  await world?.down();
  rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir` (symlinks followed) with its size: what a repository holds. */
function tree(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = statSync(p);
    return st.isDirectory() ? tree(p, base) : [`${relative(base, p)} ${st.size}`];
  }).sort();
}

/** Signatures the keys qube made so far (its own log of every decision). */
function signatures(): string[] {
  const log = join(world.stateDir('keys-fedora'), 'keys.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /qubes\.Gpg from=build-fedora \S+ exit=0/.test(l) && !/ (verify|list-keys|export)/.test(l)) : [];
}

/** The stored text of a stage's log in the logs qube's store. */
function storedLog(job: JobView, stage: string): string {
  const s = job.stages.find((x) => x.name === stage);
  if (!s?.log) throw new Error(`stage ${stage} of ${job.id} has no stored log: ${JSON.stringify(job.stages)}`);
  return readFileSync(join(world.stateDir('logs'), 'store', s.log), 'utf8');
}

/**
 * Sends a push webhook and returns the job it made: the first job after those already there,
 * once every job has ended. (sys-net may deliver a trigger twice when a call times out on a
 * loaded machine; the second delivery makes a later job, which is not this one.)
 */
async function trigger(): Promise<JobView> {
  const before = world.jobs(VM).length;
  expect(await world.pushWebhook()).toBe(202);
  const job = await waitFor('the triggered job to end', () => {
    const all = world.jobs(VM);
    return all.length > before && all.every((j) => j.finishedAt) ? all[before] : undefined;
  }, 300_000);
  n = world.jobs(VM).length;
  return job;
}

const repo = () => join(world.repositoryRoot('fedora'), 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42');

describe('build pipeline (rpm) through the simulator', () => {
  it('turns a maintainer-signed tag into a signed RPM in a signed repository, uploaded; dnf installs it', async () => {
    await world.release('1.0.0', fixtureComponentFiles('1.0.0'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state, job.reason).toBe('ok');
    expect(job.stages.map((s) => `${s.name}:${s.status}`)).toEqual([
      'fetch:ok', 'build-vm-fc42:ok', 'sign-vm-fc42:ok', 'publish-vm-fc42:ok', 'release-vm-fc42:ok', 'upload:ok',
    ]);
    // The order that makes the gate real: each stage's log is stored before the next signs.
    expect(storedLog(job, 'build-vm-fc42')).toMatch(/qbuild-sign sha256:[0-9a-f]{64} qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm/);
    expect(storedLog(job, 'publish-vm-fc42')).toMatch(/qbuild-sign sha256:[0-9a-f]{64} \S*repomd\.xml/);
    expect(storedLog(job, 'fetch')).toMatch(/v1\.0\.0/);

    const key = await world.signingKeyFile('fedora');
    const rpm = join(repo(), 'rpm', 'qbuild-fixture-1.0.0-1.fc42.noarch.rpm');
    expect(await rpmKeysVerdict(rpm, key, mkdtempSync(join(work, 'v-')))).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
    expect(await gpgvVerdict(join(repo(), 'repodata', 'repomd.xml.asc'), join(repo(), 'repodata', 'repomd.xml'), key, mkdtempSync(join(work, 'v-')))).toMatch(/Good signature/);
    expect(await dnfVerdict(repo(), key, 'qbuild-fixture', '42', mkdtempSync(join(work, 'v-')))).toMatch(/qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm$/);

    // The upload: the same files on the sshd, reached only through sys-net's local.ConnectSSH.
    const uploaded = join(world.sshd.root, 'yum', 'current-testing', 'vm', 'fc42');
    expect(tree(uploaded)).toEqual(tree(repo()));
    expect(readFileSync(join(world.formula, 'sim', 'router.log'), 'utf8')).toMatch(/allow build-fedora -> sys-net local\.ConnectSSH\+localhost/);

    const status = await world.inQube(VM, ['role', 'build', 'status']);
    expect(status.stdout).toMatch(/build daemon: running/);
    expect(status.stdout).toMatch(/fixture\s+last: ok 1\.0\.0 .*published: vm-fc42=1\.0\.0/);
  }, 300_000);

  it('builds the same trigger once: a second push finds the version published and skips it', async () => {
    const before = signatures().length;
    const job = await trigger();
    expect(job.state).toBe('skipped');
    expect(job.reason).toMatch(/1\.0\.0 is already published/);
    expect(signatures().length).toBe(before);
  }, 120_000);

  const refusals: [string, string, () => Promise<unknown>, RegExp][] = [
    ['an unsigned tag', '1.0.1', () => world.release('1.0.1', fixtureComponentFiles('1.0.1'), FIXTURE_EXECUTABLES, { unsigned: true }), /unsigned|no signature|not signed/i],
    ['a tag signed by a non-maintainer', '1.0.2', () => world.release('1.0.2', fixtureComponentFiles('1.0.2'), FIXTURE_EXECUTABLES, { outsider: true }), /maintainer/i],
    ['a tag off the branch head', '1.0.3', () => world.release('1.0.3', fixtureComponentFiles('1.0.3'), FIXTURE_EXECUTABLES, { commitAfterTag: true }), /head/i],
  ];
  for (const [what, version, make, why] of refusals) {
    it(`refuses ${what} before any build: no signature, no new file, a published log says why`, async () => {
      const files = tree(repo());
      const sigs = signatures().length;
      await make();
      const job = await trigger();
      expect(job.state).toBe('refused');
      expect(job.reason).toMatch(why);
      expect(job.stages.map((s) => s.name)).toEqual(['fetch']);
      expect(storedLog(job, 'fetch')).toMatch(why);
      expect(tree(repo())).toEqual(files);
      expect(signatures().length).toBe(sigs);
      void version;
    }, 120_000);
  }

  it('stops at a failing recipe: no signature, no new file, the build log shows the failure', async () => {
    const files = tree(repo());
    const sigs = signatures().length;
    await world.release('1.0.4', fixtureComponentFiles('1.0.4', 'failing'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state).toBe('failed');
    expect(job.stages.map((s) => `${s.name}:${s.status}`)).toEqual(['fetch:ok', 'build-vm-fc42:failed']);
    const log = storedLog(job, 'build-vm-fc42');
    expect(log).toMatch(/this build fails on purpose/);
    expect(log).toMatch(/FAILED: .*exit/);
    expect(log).not.toMatch(/qbuild-sign /);
    expect(tree(repo())).toEqual(files);
    expect(signatures().length).toBe(sigs);
  }, 180_000);

  it('survives SIGKILL of the build daemon mid-build: the log is closed incomplete and published, the job is retried, nothing half-published', async () => {
    const files = tree(repo());
    const slow = fixtureComponentFiles('1.0.5');
    slow['qbuild-fixture.spec'] = slow['qbuild-fixture.spec']!.replace('%build\n', '%build\necho slow build starts; sleep 6; echo slow build ends\n');
    await world.release('1.0.5', slow, FIXTURE_EXECUTABLES);
    expect(await world.pushWebhook()).toBe(202);
    const pidFile = join(world.stateDir(VM), 'build', 'daemon.pid');
    // Wait until the recipe is running, then kill the daemon the hard way.
    await waitFor('the slow build to start', () => {
      const j = world.jobs(VM)[n];
      const s = j?.stages.find((x) => x.name === 'build-vm-fc42');
      return s && existsSync(join(world.stateDir(VM), 'build', 'jobs', j!.id, 'build-vm-fc42.log'))
        && readFileSync(join(world.stateDir(VM), 'build', 'jobs', j!.id, 'build-vm-fc42.log'), 'utf8').includes('slow build starts');
    }, 120_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    expect(tree(repo())).toEqual(files);
    const job = await world.finishedJob(VM, n);
    n = world.jobs(VM).length;
    expect(job.state, job.reason).toBe('ok');
    expect(job.attempt).toBe(2);
    const interrupted = job.stages.find((s) => s.name === 'build-vm-fc42' && s.status === 'failed');
    expect(interrupted?.reason).toMatch(/interrupted/);
    // The logs qube closed the killed stream as incomplete and published it.
    const store = join(world.stateDir('logs'), 'store', VM, 'fixture');
    const incomplete = readdirSync(store).map((f) => readFileSync(join(store, f), 'utf8')).filter((t) => t.includes('slow build starts') && !t.includes('slow build ends'));
    expect(incomplete).toHaveLength(1);
    expect(incomplete[0]).toMatch(/incomplete/);
    expect(tree(repo()).some((f) => f.startsWith('rpm/qbuild-fixture-1.0.5-1.fc42.noarch.rpm'))).toBe(true);
  }, 300_000);
});

describe('qbuild build COMPONENT in the build qube (same queue and pipeline as a trigger)', () => {
  it('follows the job: a line per stage with its log path, the live log with --follow, exit 0', async () => {
    await world.release('1.1.0', fixtureComponentFiles('1.1.0'), FIXTURE_EXECUTABLES);
    const r = await world.inQube(VM, ['build', 'fixture', '--follow'], undefined, true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^queued job \S+-fixture-[0-9a-f]{8}$/m);
    for (const stage of ['fetch', 'build-vm-fc42', 'sign-vm-fc42', 'publish-vm-fc42', 'release-vm-fc42', 'upload']) {
      expect(r.stdout).toMatch(new RegExp(`^stage ${stage}: ok, log build-fedora/fixture/log_`, 'm'));
    }
    expect(r.stdout).toMatch(/verdict: ACCEPTED v1\.1\.0/); // the fetch stage's own log, followed live
    expect(r.stdout).toMatch(/Wrote: .*qbuild-fixture-1\.1\.0-1\.fc42\.noarch\.rpm/); // rpmbuild's output
    expect(r.stdout).toMatch(/^job \S+: ok \(fixture 1\.1\.0\)$/m);
    n = world.jobs(VM).length;
    expect(tree(repo()).some((f) => f.startsWith('rpm/qbuild-fixture-1.1.0-1.fc42.noarch.rpm'))).toBe(true);
  }, 300_000);

  it('exits 0 for a version already published, 1 for a refused source, and only queues with --no-wait', async () => {
    const again = await world.inQube(VM, ['build', 'fixture'], undefined, true);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: skipped \(fixture 1\.1\.0\): fixture 1\.1\.0 is already published/);
    await world.release('1.1.1', fixtureComponentFiles('1.1.1'), FIXTURE_EXECUTABLES, { unsigned: true });
    const refused = await world.inQube(VM, ['build', 'fixture'], undefined, true);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^stage fetch: failed, log build-fedora\/fixture\/log_\S+: .*unsigned/m);
    expect(refused.stdout).toMatch(/: refused: fetch: /);
    const queued = await world.inQube(VM, ['build', 'fixture', '--no-wait'], undefined, true);
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^(queued|joined waiting) job /);
    await waitFor('the queued job to end', () => world.jobs(VM).every((j) => j.finishedAt));
    n = world.jobs(VM).length;
  }, 300_000);

  it('refuses a component this env does not build, and bad arguments, with one line and exit 2', async () => {
    const other = await world.inQube(VM, ['build', 'core-qrexec'], undefined, true);
    expect(other.code).toBe(2);
    expect(other.stderr).toBe('qbuild: build: core-qrexec is not a component of env fedora (known: fixture)\n');
    const bad = await world.inQube(VM, ['build', '../etc'], undefined, true);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^qbuild: build: invalid component name "\.\.\/etc"/);
    expect(bad.stderr.split('\n')).toHaveLength(2);
  }, 60_000);
});
