import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffMs, startReportDispatch } from '../../../../src/roles/build/report/dispatch.js';
import type { QueuedReport } from '../../../../src/roles/build/report/events.js';
import { GithubReporter } from '../../../../src/roles/build/report/github-reporter.js';
import { listQueued, queueReport, reportQueueDir } from '../../../../src/roles/build/report/queue.js';
import type { Delivery, Reporter } from '../../../../src/roles/build/report/reporter.js';
import { startReporting } from '../../../../src/roles/build/report/start.js';
import type { BuildConfig } from '../../../../src/roles/build/pipeline/types.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { startGithubApi } from '../../../helpers/github-api.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';

const tmp = tempDirs('qb-rd-');
const ev = (component: string, n: number) => ({ kind: 'built' as const, component, version: '1.0.0', release: 'r4.3', dist: 'vm-fc42', logPath: `log/${n}` });

/** A reporter whose answers the test scripts per log path; it records what it was given and when. */
class ScriptedReporter implements Reporter {
  readonly seen: { logPath: string; at: number }[] = [];
  constructor(private readonly answer: (logPath: string, tries: number) => Delivery) {}
  async deliver(r: QueuedReport): Promise<Delivery> {
    const logPath = (r.event as { logPath: string }).logPath;
    this.seen.push({ logPath, at: Date.now() });
    return this.answer(logPath, this.seen.filter((s) => s.logPath === logPath).length);
  }
}

describe('report dispatch', () => {
  it('delivers in queue order; a waiting issue holds back only its own later reports; drops what can never go', async () => {
    const p = buildPaths(tmp());
    queueReport(p, ev('a', 1));
    queueReport(p, ev('a', 2));
    queueReport(p, ev('b', 3));
    queueReport(p, ev('b', 4));
    queueReport(p, ev('c', 5));
    writeFileSync(join(reportQueueDir(p), '00000000T000000000Z-000000-1-000000.json'), 'garbage');
    const said: string[] = [];
    const r = new ScriptedReporter((path, tries) => {
      if (path === 'log/1' && tries < 3) return { outcome: 'retry', why: 'HTTP 502' };
      if (path === 'log/3') return { outcome: 'dropped', why: 'HTTP 422' };
      return { outcome: 'done' };
    });
    const d = startReportDispatch({ paths: p, reporter: r, say: (l) => said.push(l), retryBaseMs: 100, retryMaxMs: 1000, pollMs: 20 });
    try {
      await waitFor('the queue to drain', () => listQueued(p).length === 0, 10_000);
    } finally {
      await d.stop();
    }
    const order = r.seen.map((s) => s.logPath);
    // b and c went while a's first report waited; a's second only after its first.
    expect(order.indexOf('log/4')).toBeLessThan(order.lastIndexOf('log/1'));
    expect(order.indexOf('log/5')).toBeLessThan(order.lastIndexOf('log/1'));
    expect(order.indexOf('log/2')).toBeGreaterThan(order.lastIndexOf('log/1'));
    expect(order.filter((x) => x === 'log/1')).toHaveLength(3);
    expect(order.filter((x) => x === 'log/2' || x === 'log/3' || x === 'log/4' || x === 'log/5')).toHaveLength(4);
    expect(said.some((l) => /report built b 1\.0\.0 \(r4\.3\) vm-fc42: dropped: HTTP 422/.test(l))).toBe(true);
    expect(said.some((l) => /unreadable .*dropped/.test(l))).toBe(true);
    expect(said.some((l) => /report built a 1\.0\.0 \(r4\.3\) vm-fc42: delivered after 2 failed tries/.test(l))).toBe(true);
  });

  it('backs off exponentially and honours the wait a service names', async () => {
    const p = buildPaths(tmp());
    queueReport(p, ev('a', 1));
    const r = new ScriptedReporter((_path, tries) => (tries < 4 ? { outcome: 'retry', why: 'down' } : tries === 4 ? { outcome: 'retry', why: '429', afterMs: 600 } : { outcome: 'done' }));
    const d = startReportDispatch({ paths: p, reporter: r, say: () => {}, retryBaseMs: 100, retryMaxMs: 10_000, pollMs: 10 });
    try {
      await waitFor('the report to go', () => listQueued(p).length === 0, 10_000);
    } finally {
      await d.stop();
    }
    const gaps = r.seen.slice(1).map((s, i) => s.at - r.seen[i]!.at);
    expect(gaps).toHaveLength(4);
    // base·2^(n−1) with up to 20 % jitter below: ≥80, ≥160, ≥320; then the named 600 ms.
    expect(gaps[0]).toBeGreaterThanOrEqual(80);
    expect(gaps[1]).toBeGreaterThanOrEqual(160);
    expect(gaps[2]).toBeGreaterThanOrEqual(320);
    expect(gaps[3]).toBeGreaterThanOrEqual(600);
    expect(backoffMs(1, 1000, 300_000, () => 1)).toBe(1000);
    expect(backoffMs(5, 1000, 300_000, () => 1)).toBe(16000);
    expect(backoffMs(40, 1000, 300_000, () => 1)).toBe(300_000);
    expect(backoffMs(40, 1000, 300_000, () => 0)).toBe(240_000);
  });

  it('with GitHub down the reports wait in the queue and arrive once it is back, each once', async () => {
    const p = buildPaths(tmp());
    const api = await startGithubApi('tok', ['o/status']);
    const dir = tmp();
    writeFileSync(join(dir, 'token'), 'tok\n');
    await api.down();
    const reporter = new GithubReporter({ apiUrl: api.url, tokenFile: join(dir, 'token'), statusRepo: 'o/status', issuesRepo: 'o/issues', logsUrl: null }, { minAgeDays: 5, dists: ['vm-fc42'] });
    const d = startReportDispatch({ paths: p, reporter, say: () => {}, retryBaseMs: 50, retryMaxMs: 200, pollMs: 20 });
    try {
      const { logPath: _unused, ...base } = ev('x', 0);
      queueReport(p, { ...base, kind: 'build-started', commit: 'e'.repeat(40) });
      queueReport(p, ev('x', 1));
      queueReport(p, { ...ev('x', 2), kind: 'uploaded', repository: 'current-testing' });
      d.kick();
      await new Promise((r) => setTimeout(r, 500));
      expect(listQueued(p)).toHaveLength(3);
      await api.up();
      await waitFor('the queue to drain', () => listQueued(p).length === 0, 10_000);
    } finally {
      await d.stop();
      await api.close();
    }
    expect(api.issues('o/status').map((i) => i.title)).toEqual(['x v1.0.0 (r4.3)']);
    expect(api.issues('o/status')[0]!.comments.map((c) => c.body.split('\n')[0])).toEqual([
      'Package for fc42 was built.', 'Package for fc42 was uploaded to current-testing repository.',
    ]);
    expect(api.issues('o/status')[0]!.labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
  });

  it('reporting off (no github config): nothing is started and what was queued is dropped, with one line', () => {
    const p = buildPaths(tmp());
    queueReport(p, ev('a', 1));
    const said: string[] = [];
    expect(startReporting({ dists: [], release: 'r4.3' } as unknown as BuildConfig, p, (l) => said.push(l))).toBeUndefined();
    expect(listQueued(p)).toEqual([]);
    expect(said).toEqual(['reporting to GitHub is off (no github config): 1 queued report(s) dropped']);
  });
});
