import { expect } from 'vitest';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../src/demo/fixture-component.js';
import type { JobView, World } from '../../src/demo/world.js';
import { waitFor } from './wait.js';

/**
 * Tags `version` of the fixture component (the tag's commit with `message`, if given), pushes
 * the signed webhook, and waits until `vm` has finished that version's job, which must be ok.
 */
export async function buildFixtureVersion(world: World, vm: string, version: string, message?: string): Promise<JobView> {
  await world.release(version, fixtureComponentFiles(version), FIXTURE_EXECUTABLES, message ? { message } : {});
  const before = world.jobs(vm).length;
  expect(await world.pushWebhook()).toBe(202);
  const job = await waitFor(`the build of ${version}`, () => {
    const all = world.jobs(vm);
    return all.length > before && all.every((j) => j.finishedAt) ? all.slice(before).find((j) => j.version === version) : undefined;
  }, 300_000);
  expect(job.state, job.reason).toBe('ok');
  return job;
}
