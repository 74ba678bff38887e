import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../../src/protocol/github/command/grammar.js';
import { buildStatus } from '../../../../src/roles/build/status.js';
import { loadJob, saveJob } from '../../../../src/roles/build/state/job-record.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { enqueue, enqueueCommand, release, take, waiting } from '../../../../src/roles/build/state/queue.js';

const dir = mkdtempSync(join(tmpdir(), 'qb-cmdstatus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('command jobs in the queue and in role build status', () => {
  it('never coalesce, keep acceptance order beside builds, and are listed as commands', () => {
    const p = buildPaths(dir);
    const line = 'Upload-component r4.3 core-qrexec 0123456789abcdef0123456789abcdef01234567 current vm-fc42';
    const cmd = { line, command: parseCommandLine(line), signer: 'A'.repeat(40), digest: 'b'.repeat(64) };
    const t = Date.parse('2026-12-02T02:00:00Z');
    const one = enqueueCommand(p, 'core-qrexec', 'sys-net', cmd, new Date(t));
    const build = enqueue(p, 'core-qrexec', 'sys-net', new Date(t + 1000));
    const two = enqueueCommand(p, 'core-qrexec', 'sys-net', cmd, new Date(t + 2000));
    expect(one).not.toBe(two);
    expect(waiting(p).map((w) => w.id)).toEqual([one, build.id, two]);
    expect(waiting(p)[0]!.component).toBe(`command.${one}`);

    expect(take(p, `command.${one}`)).toBe(true);
    const job = loadJob(p, one);
    Object.assign(job, { state: 'failed', reason: 'promote-vm-fc42: no such file', finishedAt: new Date(t + 3000).toISOString() });
    saveJob(p, job);
    release(p, `command.${one}`);
    const out = buildStatus(p, ['core-qrexec'], t + 10_000);
    expect(out).toContain('  core-qrexec              last: never built');
    expect(out).toContain('last commands:');
    expect(out).toContain(`  job ${one}: failed 7s ago: ${line}: promote-vm-fc42: no such file`);
  });
});
