import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handleTriggerBuild } from '../../../src/roles/build/trigger-service.js';
import { buildPaths } from '../../../src/roles/build/state/paths.js';
import { waiting } from '../../../src/roles/build/state/queue.js';
import { loadJob } from '../../../src/roles/build/state/job-record.js';
import { makePlan } from '../../../src/roles/dom0/make-plan.js';
import { loadPillar } from '../../../src/roles/dom0/pillar.js';
import { repoRoot } from '../../helpers/binary.js';

// The build qube's config exactly as provision writes it for the example pillar.
let config: string;
beforeAll(async () => {
  const plan = makePlan(await loadPillar(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8'), 'pillar.yml'));
  config = JSON.stringify(plan.vms.find((v) => v.name === 'build-fedora')!.config);
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qbuild-trigger-'));
  writeFileSync(join(dir, 'qbuild.json'), config);
});
afterEach(() => { chmodSync(dir, 0o700); rmSync(dir, { recursive: true, force: true }); });

async function trigger(argument: string | undefined): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const code = await handleTriggerBuild(
    { remoteDomain: 'sys-net', service: 'qubesbuilder.TriggerBuild', argument, requestedTarget: 'build-fedora' },
    { stdin: Readable.from(['ignored input']), stdout, stderr: new PassThrough(), env: { QBUILD_STATE: join(dir, 'state'), QBUILD_CONFIG: join(dir, 'qbuild.json') } },
  );
  return { code, out };
}

const records = (name = 'trigger.jsonl') => readFileSync(join(dir, 'state', 'inbox', name), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('qubesbuilder.TriggerBuild', () => {
  it('records every call, queues a component of this env once while it waits, and prints nothing', async () => {
    expect(await trigger('core-qrexec')).toEqual({ code: 0, out: '' });
    expect(await trigger('core-qrexec')).toEqual({ code: 0, out: '' });
    expect(records().map((r) => [r.from, r.component])).toEqual([['sys-net', 'core-qrexec'], ['sys-net', 'core-qrexec']]);
    expect(records()[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const p = buildPaths(join(dir, 'state'));
    const w = waiting(p);
    expect(w.map((x) => x.component)).toEqual(['core-qrexec']);
    expect(loadJob(p, w[0]!.id)).toMatchObject({ component: 'core-qrexec', from: 'sys-net', state: 'queued' });
  });

  it('refuses a component this env does not build, recording why, and still exits 0 (no retry from sys-net)', async () => {
    expect(await trigger('linux_utils-2')).toEqual({ code: 0, out: '' });
    expect(records('trigger-refused.jsonl')).toEqual([expect.objectContaining({ component: 'linux_utils-2', reason: 'not a component of env fedora' })]);
    expect(waiting(buildPaths(join(dir, 'state')))).toEqual([]);
  });

  it('rejects a missing, too long or ill-formed component and records nothing', async () => {
    await expect(trigger(undefined)).rejects.toThrow(/component name/);
    await expect(trigger('a'.repeat(65))).rejects.toThrow(/longer than 64/);
    await expect(trigger('core.qrexec')).rejects.toThrow(/invalid component/);
    expect(() => records()).toThrow(/ENOENT/);
  });

  it('fails (so sys-net retries) when the inbox cannot be written', async () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions: make "inbox" a file instead.
      mkdirSync(join(dir, 'state'), { recursive: true });
      writeFileSync(join(dir, 'state', 'inbox'), '');
    } else {
      chmodSync(dir, 0o500);
    }
    await expect(trigger('core-qrexec')).rejects.toMatchObject({ code: 'io' });
  });
});
