import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin } from '../../helpers/binary.js';
import { World } from '../../../src/demo/world.js';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../../src/demo/fixture-component.js';

// N-of-M through the whole pipeline: a component whose pillar asks 2 of its 2 maintainers.
const VM = 'build-fedora';
let world: World;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-nofm-'));
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', maintainers: 2, minSignatures: 2,
    envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
  });
}, 120_000);
afterAll(async () => {
  await world?.down();
  rmSync(work, { recursive: true, force: true });
});

const repoDir = () => join(world.repositoryRoot('fedora'), 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42');

describe('build pipeline with min-signatures 2 of 2 maintainers', () => {
  it('refuses a tag signed by one maintainer: nothing built, signed or published, the fetch log says why', async () => {
    await world.release('2.0.0', fixtureComponentFiles('2.0.0'), FIXTURE_EXECUTABLES, { signers: 1 });
    expect(await world.pushWebhook()).toBe(202);
    const job = await world.finishedJob(VM, 0);
    expect(job.state).toBe('refused');
    expect(job.reason).toMatch(/1 distinct maintainer signature.*2 required|2 required/);
    expect(job.stages.map((s) => s.name)).toEqual(['fetch']);
    const log = readFileSync(join(world.stateDir('logs'), 'store', job.stages[0]!.log!), 'utf8');
    expect(log).toMatch(/verdict: REFUSED/);
    expect(existsSync(repoDir())).toBe(false);
    const keysLog = join(world.stateDir('keys-fedora'), 'keys.log');
    expect(existsSync(keysLog) ? readFileSync(keysLog, 'utf8') : '').not.toMatch(/qubes\.Gpg from=build-fedora (sign|detach-sign|clearsign)\S* exit=0/);
  }, 120_000);

  it('builds once both maintainers signed their own tag on the head', async () => {
    await world.release('2.0.1', fixtureComponentFiles('2.0.1'), FIXTURE_EXECUTABLES, { signers: 2 });
    expect(await world.pushWebhook()).toBe(202);
    const job = await world.finishedJob(VM, 1);
    expect(job.state, job.reason).toBe('ok');
    const log = readFileSync(join(world.stateDir('logs'), 'store', job.stages[0]!.log!), 'utf8');
    expect(log).toMatch(/verdict: ACCEPTED v2\.0\.1 .*2 distinct maintainers signed \(2 required\)/);
    expect(existsSync(join(repoDir(), 'rpm', 'qbuild-fixture-2.0.1-1.fc42.noarch.rpm'))).toBe(true);
  }, 300_000);
});
