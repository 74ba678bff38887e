import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin } from '../../helpers/binary.js';
import { World, type JobView } from '../../../src/demo/world.js';
import { dnfVerdict, rpmKeysVerdict } from '../../../src/demo/verdicts.js';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../../src/demo/fixture-component.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';

// The build pipeline with `executor: dispvm`, through the simulator and the built binary:
// every recipe runs in a fresh disposable of dvm-build-fedora, destroyed after its run.
const VM = 'build-fedora';
let world: World;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-dispvm-e2e-'));
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'], executor: 'dispvm' }],
  });
}, 120_000);
afterAll(async () => {
  await world?.down();
  rmSync(work, { recursive: true, force: true });
});

const repo = () => join(world.repositoryRoot('fedora'), 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42');
const qube = () => simPaths(world.formula).qube(VM);
const routerLog = () => readFileSync(simPaths(world.formula).routerLog, 'utf8');
const disposables = () => readdirSync(join(world.formula, 'qubes')).filter((n) => /^disp\d+$/.test(n));

function storedLog(job: JobView, stage: string): string {
  const s = job.stages.find((x) => x.name === stage);
  if (!s?.log) throw new Error(`stage ${stage} of ${job.id} has no stored log`);
  return readFileSync(join(world.stateDir('logs'), 'store', s.log), 'utf8');
}

/**
 * A hostile %build: from its HOME (…/state/build/work/ID/build/DIST/home in the build qube's
 * layout) it reaches for the build qube's ssh key, writes the build qube's ~/.bashrc and a file
 * in its state, and says whether an earlier build's writes are still there.
 */
const HOSTILE = [
  'up="$HOME/../../../../../.."',
  'for f in "$up/../home/.bashrc" "$up/hostile-marker"; do grep -qs pwned "$f" && echo "FOUND-EARLIER-WRITE $f"; done',
  'if [ -e "$up/ssh/id_ed25519" ]; then echo KEY-READABLE; else echo NO-KEY-IN-DISPOSABLE; fi',
  'mkdir -p "$up/../home" && echo pwned >> "$up/../home/.bashrc"',
  'echo pwned > "$up/hostile-marker"',
  'echo pwned > "$HOME/.bashrc"',
  '',
].join('\n');

function hostileFiles(version: string): Record<string, string> {
  const files = fixtureComponentFiles(version);
  files['qbuild-fixture.spec'] = files['qbuild-fixture.spec']!.replace('%build\n', `%build\n${HOSTILE}`);
  return files;
}

async function build(version: string, files: Record<string, string>): Promise<JobView> {
  const n = world.jobs(VM).length;
  await world.release(version, files, FIXTURE_EXECUTABLES);
  expect(await world.pushWebhook()).toBe(202);
  return world.finishedJob(VM, n);
}

describe('build pipeline with executor: dispvm', () => {
  it('provisions the disposable template and tells the build qube', () => {
    const plan = JSON.parse(readFileSync(join(world.formula, 'plan.json'), 'utf8')) as { vms: { name: string; templateForDispvms?: boolean; netvm: unknown }[] };
    expect(plan.vms.find((v) => v.name === 'dvm-build-fedora')).toMatchObject({ templateForDispvms: true, netvm: null });
    const config = JSON.parse(readFileSync(qube().config, 'utf8'));
    expect(config.build.executor).toEqual({ kind: 'dispvm', dvm: 'dvm-build-fedora' });
    expect(readFileSync(join(qube().dir, 'daemons.log'), 'utf8')).toMatch(/recipes run in disposables of dvm-build-fedora/);
  });

  it('builds, signs, publishes and uploads the same result, the recipe run in a disposable', async () => {
    const job = await build('1.0.0', fixtureComponentFiles('1.0.0'));
    expect(job.state, job.reason).toBe('ok');
    expect(job.stages.map((s) => `${s.name}:${s.status}`)).toEqual([
      'fetch:ok', 'build-vm-fc42:ok', 'sign-vm-fc42:ok', 'publish-vm-fc42:ok', 'release-vm-fc42:ok', 'upload:ok',
    ]);
    // rpmbuild's own lines, as it printed them inside the disposable, are in the build log.
    const log = storedLog(job, 'build-vm-fc42');
    expect(log).toMatch(/Wrote: .*qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm/);
    expect(log).toMatch(/qbuild-sign sha256:[0-9a-f]{64} qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm/);
    expect(routerLog()).toMatch(/allow build-fedora -> @dispvm:dvm-build-fedora qubesbuilder\.RunRecipe \(disposable disp\d+\)/);
    const key = await world.signingKeyFile('fedora');
    const rpm = join(repo(), 'rpm', 'qbuild-fixture-1.0.0-1.fc42.noarch.rpm');
    expect(await rpmKeysVerdict(rpm, key, mkdtempSync(join(work, 'v-')))).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
    expect(await dnfVerdict(repo(), key, 'qbuild-fixture', '42', mkdtempSync(join(work, 'v-')))).toMatch(/qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm$/);
    expect(existsSync(join(world.sshd.root, 'yum', 'current-testing', 'vm', 'fc42', 'rpm', 'qbuild-fixture-1.0.0-1.fc42.noarch.rpm'))).toBe(true);
    expect(disposables()).toEqual([]);
  }, 300_000);

  it('keeps a hostile recipe\'s writes from the build qube and from the next build; the ssh key is not there', async () => {
    const first = await build('1.1.0', hostileFiles('1.1.0'));
    expect(first.state, first.reason).toBe('ok');
    const log1 = storedLog(first, 'build-vm-fc42');
    expect(log1).toContain('NO-KEY-IN-DISPOSABLE');
    expect(log1).not.toMatch(/KEY-READABLE|FOUND-EARLIER-WRITE/);
    expect(existsSync(join(world.stateDir('build-fedora'), 'ssh', 'id_ed25519'))).toBe(true);
    // Nothing of it reached the build qube.
    expect(existsSync(join(qube().home, '.bashrc')) ? readFileSync(join(qube().home, '.bashrc'), 'utf8') : '').not.toContain('pwned');
    expect(existsSync(join(world.stateDir('build-fedora'), 'hostile-marker'))).toBe(false);
    expect(disposables()).toEqual([]);

    const second = await build('1.1.1', hostileFiles('1.1.1'));
    expect(second.state, second.reason).toBe('ok');
    const log2 = storedLog(second, 'build-vm-fc42');
    expect(log2).toContain('NO-KEY-IN-DISPOSABLE');
    expect(log2).not.toMatch(/FOUND-EARLIER-WRITE/);
    expect(disposables()).toEqual([]);
  }, 600_000);
});
