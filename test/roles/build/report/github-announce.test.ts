import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnnounceEvent, QueuedReport } from '../../../../src/roles/build/report/events.js';
import { GithubReporter, type GithubReportConfig } from '../../../../src/roles/build/report/github-reporter.js';
import { parseQueued } from '../../../../src/roles/build/report/queue.js';
import { startGithubApi, type GithubApi } from '../../../helpers/github-api.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-announce-gh-');
const TOKEN = 'ghp_qbuildtesttoken';
const STATUS = 'QubesOS/updates-status';
const ISSUES = 'QubesOS/qubes-issues';
let api: GithubApi;
let config: GithubReportConfig;

beforeEach(async () => {
  api = await startGithubApi(TOKEN, [STATUS, ISSUES]);
  const dir = tmp();
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  config = { apiUrl: api.url, tokenFile: join(dir, 'token'), statusRepo: STATUS, issuesRepo: ISSUES, logsUrl: null };
});
afterEach(async () => { await api.close(); });

/** Opens issues 1..n in the issues repository, as people would. */
async function openIssues(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const res = await fetch(`${api.url}/repos/${ISSUES}/issues`, { method: 'POST', headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ title: `bug ${i}`, labels: ['r4.3-fc42-failed'] }) });
    expect(res.status).toBe(201);
  }
}

const reporter = () => new GithubReporter(config, { minAgeDays: 5, dists: ['vm-fc42'] });
let n = 0;
const event = (issue: number): AnnounceEvent => ({
  kind: 'announce', component: 'core-admin', version: '4.3.5', release: 'r4.3', dist: 'vm-fc42', repository: 'current-testing', issue,
  previous: 'a'.repeat(40), commit: 'b'.repeat(40), gitUrl: 'https://github.com/QubesOS/qubes-core-admin',
});
const queued = (e: AnnounceEvent): QueuedReport => ({ id: `20261202T010203000Z-${String(++n).padStart(6, '0')}-1-abcdef`, queuedAt: new Date().toISOString(), event: e });

describe('announcements delivered to build_issues_repo', () => {
  it('comments once on that issue (the template, then the marker) with the upload\'s labels; a second delivery adds nothing', async () => {
    await openIssues(12);
    const q = queued(event(12));
    expect(await reporter().deliver(q)).toEqual({ outcome: 'done' });
    expect(await reporter().deliver(q)).toEqual({ outcome: 'done' });
    const issue = api.issues(ISSUES)[11]!;
    expect(issue.comments).toHaveLength(1);
    expect(issue.comments[0]!.body).toMatch(/^\*\*Automated announcement from \[builder-github\]\*\*\n\nThe component `core-admin` \(including package `core-admin`\) has been pushed to the `r4\.3` testing repository for the Fedora template\.\n/);
    expect(issue.comments[0]!.body.endsWith(`[commits]: https://github.com/QubesOS/qubes-core-admin/compare/${'a'.repeat(40)}...${'b'.repeat(40)}\n\n<!-- qbuild:${q.id} -->`)).toBe(true);
    expect(issue.labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
    expect(api.issues(STATUS)).toEqual([]); // no status issue is made or touched
    expect(api.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/comments'))).toHaveLength(1);
  });

  it('no such issue: dropped, naming it', async () => {
    await openIssues(1);
    expect(await reporter().deliver(queued(event(12)))).toEqual({ outcome: 'dropped', why: `no issue 12 in ${ISSUES} (HTTP 404)` });
  });

  it('a 5xx is retried as for status reports', async () => {
    await openIssues(1);
    api.failNext(1, 502);
    expect((await reporter().deliver(queued(event(1)))).outcome).toBe('retry');
  });

  it('the queue file round-trips; a bad issue number or an unannounced repository does not parse', () => {
    const q = queued(event(12));
    expect(parseQueued(JSON.stringify(q), q.id)).toEqual(q);
    const bad = (patch: Record<string, unknown>) => () => parseQueued(JSON.stringify({ ...q, event: { ...q.event, ...patch } }), q.id);
    expect(bad({ issue: 0 })).toThrow(/issue is not a positive integer/);
    expect(bad({ issue: '12' })).toThrow(/issue is not a positive integer/);
    expect(bad({ repository: 'security-testing' })).toThrow(/not announced/);
    expect(bad({ previous: '' })).toThrow(/previous/);
  });
});
