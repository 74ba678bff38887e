import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { listQueued, queueReport, reportQueueDir } from '../../../../src/roles/build/report/queue.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-rq-');
const at = { component: 'core-admin', version: '4.2.10', release: 'r4.2', dist: 'vm-fc42' };

describe('report queue', () => {
  it('keeps events in queue order, one whole file each, read back exactly', () => {
    const p = buildPaths(tmp());
    queueReport(p, { kind: 'build-started', ...at, commit: 'a'.repeat(40), changes: { gitUrl: 'https://x/y', previous: '', shortlog: [], issues: [] } });
    for (let i = 0; i < 20; i++) queueReport(p, { kind: 'built', ...at, logPath: `l/${i}` });
    queueReport(p, { kind: 'build-failed', ...at, logPath: 'l/f', tail: ['a', 'b'] });
    const q = listQueued(p);
    expect(q).toHaveLength(22);
    const events = q.map((e) => ('report' in e ? e.report.event : e.bad));
    expect(events[0]).toMatchObject({ kind: 'build-started', changes: { gitUrl: 'https://x/y' } });
    expect(events.slice(1, 21).map((e) => (e as { logPath: string }).logPath)).toEqual(Array.from({ length: 20 }, (_, i) => `l/${i}`));
    expect(events[21]).toEqual({ kind: 'build-failed', ...at, logPath: 'l/f', tail: ['a', 'b'] });
    expect(readdirSync(reportQueueDir(p)).every((n) => n.endsWith('.json'))).toBe(true);
  });

  it('never throws: an unusable state dir costs one line on stderr and the build goes on', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'not a directory');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(() => queueReport(buildPaths(join(dir, 'file')), { kind: 'built', ...at, logPath: 'x' })).not.toThrow();
      expect(err).toHaveBeenCalledTimes(1);
      expect(String(err.mock.calls[0]![0])).toMatch(/^qbuild: build: report built core-admin 4\.2\.10 vm-fc42 not queued: .*ENOTDIR.*\n$/);
    } finally {
      err.mockRestore();
    }
  });

  it('a file that is not one of ours is reported unusable, by rule', () => {
    const p = buildPaths(tmp());
    queueReport(p, { kind: 'built', ...at, logPath: 'x' });
    const [first] = listQueued(p);
    const file = (first as { file: string }).file;
    const bad = (text: string) => {
      writeFileSync(file, text);
      return (listQueued(p)[0] as { bad?: string }).bad;
    };
    const good = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(bad('{')).toMatch(/JSON/);
    expect(bad(JSON.stringify({ ...good, id: 'other' }))).toMatch(/id does not match/);
    expect(bad(JSON.stringify({ ...good, event: { ...(good.event as object), kind: 'deleted' } }))).toMatch(/unknown event kind/);
    expect(bad(JSON.stringify({ ...good, event: { ...(good.event as object), kind: 'uploaded', repository: 'unstable' } }))).toMatch(/unknown repository/);
    expect(bad(JSON.stringify({ ...good, event: { ...(good.event as object), kind: 'build-failed', tail: [1] } }))).toMatch(/tail/);
  });
});
