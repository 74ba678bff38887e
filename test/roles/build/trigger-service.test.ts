import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleTriggerBuild } from '../../../src/roles/build/trigger-service.js';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'qbuild-trigger-')); });
afterEach(() => { chmodSync(dir, 0o700); rmSync(dir, { recursive: true, force: true }); });

async function trigger(argument: string | undefined): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const code = await handleTriggerBuild(
    { remoteDomain: 'sys-net', service: 'qubesbuilder.TriggerBuild', argument, requestedTarget: 'build-fedora' },
    { stdin: Readable.from(['ignored input']), stdout, stderr: new PassThrough(), env: { QBUILD_STATE: join(dir, 'state') } },
  );
  return { code, out };
}

const records = () => readFileSync(join(dir, 'state', 'inbox', 'trigger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('qubesbuilder.TriggerBuild (recording only)', () => {
  it('records a valid component durably and prints nothing', async () => {
    expect(await trigger('core-qrexec')).toEqual({ code: 0, out: '' });
    expect(await trigger('linux_utils-2')).toEqual({ code: 0, out: '' });
    expect(records().map((r) => [r.from, r.component])).toEqual([['sys-net', 'core-qrexec'], ['sys-net', 'linux_utils-2']]);
    expect(records()[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
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
      rmSync(join(dir, 'state', 'inbox'), { force: true, recursive: true });
      (await import('node:fs')).writeFileSync(join(dir, 'state', 'inbox'), '');
    } else {
      chmodSync(dir, 0o500);
    }
    await expect(trigger('core-qrexec')).rejects.toMatchObject({ code: 'io' });
  });
});
