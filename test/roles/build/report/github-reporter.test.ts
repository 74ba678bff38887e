import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classify, GithubReporter, type GithubReportConfig } from '../../../../src/roles/build/report/github-reporter.js';
import type { QueuedReport, ReportEvent } from '../../../../src/roles/build/report/events.js';
import { startGithubApi, type GithubApi } from '../../../helpers/github-api.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-report-');
const TOKEN = 'ghp_qbuildtesttoken';
const STATUS = 'QubesOS/updates-status';
const at = { component: 'core-admin', version: '4.2.10', release: 'r4.2', dist: 'vm-fc42' };
const logPath = 'build-fedora/core-admin/log_x1';
let api: GithubApi;
let config: GithubReportConfig;

beforeEach(async () => {
  api = await startGithubApi(TOKEN, [STATUS]);
  const dir = tmp();
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  config = { apiUrl: api.url, tokenFile: join(dir, 'token'), statusRepo: STATUS, issuesRepo: 'QubesOS/qubes-issues', logsUrl: 'https://logs.example/blob/main' };
});
afterEach(async () => { await api.close(); });

const reporter = () => new GithubReporter(config, { minAgeDays: 5, dists: ['vm-fc42'] });
let n = 0;
const queued = (event: ReportEvent): QueuedReport => ({ id: `20261202T010203000Z-${String(++n).padStart(6, '0')}-1-abcdef`, queuedAt: new Date().toISOString(), event });
const labels = () => api.issues(STATUS).map((i) => i.labels.map((l) => l.name));

describe('GitHub reporter against the API stand-in', () => {
  it('makes the status issue once, comments once per event, and moves the labels as upstream does', async () => {
    const r = reporter();
    const started = queued({ kind: 'build-started', ...at, commit: 'c'.repeat(40) });
    expect(await r.deliver(started)).toEqual({ outcome: 'done' });
    expect(api.issues(STATUS).map((i) => i.title)).toEqual(['core-admin v4.2.10 (r4.2)']);
    expect(api.issues(STATUS)[0]!.body).toMatch(/^Update of core-admin to v4\.2\.10 for Qubes OS r4\.2,/);
    expect(api.issues(STATUS)[0]!.body).toContain(`\`Upload-component r4.2 core-admin ${'c'.repeat(40)} current all\``);
    expect(labels()).toEqual([['r4.2-fc42-building']]);

    const built = queued({ kind: 'built', ...at, logPath });
    expect(await r.deliver(built)).toEqual({ outcome: 'done' });
    // The same event again (a restart before the queue entry went): nothing new.
    expect(await r.deliver(built)).toEqual({ outcome: 'done' });
    expect(await r.deliver(started)).toEqual({ outcome: 'done' });
    const up = queued({ kind: 'uploaded', ...at, repository: 'current-testing', logPath: 'build-fedora/core-admin/log_x2' });
    expect(await r.deliver(up)).toEqual({ outcome: 'done' });

    expect(api.issues(STATUS)).toHaveLength(1);
    expect(api.issues(STATUS)[0]!.comments.map((c) => c.body)).toEqual([
      `Package for fc42 was built ([build log](https://logs.example/blob/main/${logPath})).\n\n<!-- qbuild:${built.id} -->`,
      `Package for fc42 was uploaded to current-testing repository ([upload log](https://logs.example/blob/main/build-fedora/core-admin/log_x2)).\n\n<!-- qbuild:${up.id} -->`,
    ]);
    // The repeated build-started re-added -building; upload removed it again (upstream's order).
    expect(labels()).toEqual([['r4.2-fc42-cur-test']]);
    const creates = api.calls.filter((c) => c.method === 'POST' && c.path === `/repos/${STATUS}/issues`);
    expect(creates.map((c) => c.status)).toEqual([201]);
  });

  it('a reply lost after GitHub created the issue or the comment (a crash between the POST and the record): the retry finds them', async () => {
    const r = reporter();
    api.cutReply('POST', /\/issues$/);
    const failed = queued({ kind: 'build-failed', ...at, logPath, tail: ['error: it broke'] });
    const first = await r.deliver(failed);
    expect(first.outcome).toBe('retry');
    expect(api.issues(STATUS)).toHaveLength(1); // created, but the reporter never heard
    api.cutReply('POST', /\/comments$/);
    expect((await r.deliver(failed)).outcome).toBe('retry');
    expect(api.issues(STATUS)[0]!.comments).toHaveLength(1);
    expect(await r.deliver(failed)).toEqual({ outcome: 'done' });
    expect(api.issues(STATUS)).toHaveLength(1);
    expect(api.issues(STATUS)[0]!.comments).toHaveLength(1);
    expect(api.issues(STATUS)[0]!.comments[0]!.body).toMatch(/^Package for fc42 failed to build \(\[build log\]\(.*\)\):\n\n\*\*Log tail \(last ~30 lines\):\*\*\n<details>/);
    expect(labels()).toEqual([['r4.2-fc42-failed']]);
  });

  it('finds the issue on a later page of open issues (pagination) and ignores pull requests of the same title', async () => {
    const issues = api.issues(STATUS);
    const created_at = new Date().toISOString();
    for (let i = 0; i < 130; i++) issues.push({ number: i + 1, title: `core-admin v1.0.${i} (r4.2)`, body: '', state: 'open', labels: [], comments: [], created_at });
    // Newest first: this pull request is on the first page, the issue on the second.
    issues.push({ ...issues[0]!, number: 131, pull_request: { url: 'x' }, comments: [], labels: [] });
    expect(await reporter().deliver(queued({ kind: 'built', ...at, version: '1.0.0', logPath }))).toEqual({ outcome: 'done' });
    expect(api.issues(STATUS)).toHaveLength(131);
    expect(issues[0]!.comments).toHaveLength(1);
    expect(api.calls.some((c) => c.query.page === '2')).toBe(true);
  });

  it('a passing failure is retried (5xx, 429, rate-limited 403, no answer); a 4xx that will not change is dropped', async () => {
    const e = queued({ kind: 'built', ...at, logPath });
    api.failNext(1, 502);
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'retry', why: expect.stringMatching(/^HTTP 502/) });
    api.failNext(1, 429, { 'retry-after': '7' });
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'retry', afterMs: 7000 });
    const reset = Math.floor(Date.now() / 1000) + 60;
    api.failNext(1, 403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) });
    const limited = await reporter().deliver(e);
    expect(limited).toMatchObject({ outcome: 'retry' });
    expect((limited as { afterMs: number }).afterMs).toBeGreaterThan(50_000);
    api.failNext(1, 403, {}, 'Resource not accessible by integration');
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'dropped', why: expect.stringMatching(/^HTTP 403/) });

    await api.down();
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'retry', why: expect.stringMatching(/^no answer/) });
    await api.up();
    expect(await reporter().deliver(e)).toEqual({ outcome: 'done' });

    writeFileSync(config.tokenFile, 'wrong\n');
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'dropped', why: expect.stringMatching(/^HTTP 401: Bad credentials/) });
    config.statusRepo = 'QubesOS/no-such-repo';
    writeFileSync(config.tokenFile, `${TOKEN}\n`);
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'dropped', why: expect.stringMatching(/^HTTP 404/) });
    writeFileSync(config.tokenFile, 'two\nlines\n');
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'retry', why: expect.stringMatching(/not one line of printable ASCII/) });
    config.tokenFile = join(config.tokenFile, 'missing');
    expect(await reporter().deliver(e)).toMatchObject({ outcome: 'retry', why: expect.stringMatching(/token file/) });
  });

  it('classify: a non-HTTP error is retried; retry-after wins over the reset time', () => {
    expect(classify(new Error('boom')).outcome).toBe('retry');
    expect(classify({ status: 503, response: { headers: { 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '99999999999' } } })).toMatchObject({ afterMs: 2000 });
    expect(classify({ status: 422, response: { headers: {} }, message: 'Validation Failed' })).toMatchObject({ outcome: 'dropped' });
  });
});
