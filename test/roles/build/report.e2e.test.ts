import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../../src/demo/fixture-component.js';
import { World, type JobView } from '../../../src/demo/world.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';
import { qbuildBin } from '../../helpers/binary.js';
import { startGithubApi, type FakeIssue, type GithubApi } from '../../helpers/github-api.js';
import { startLogsWeb, type LogsWeb } from '../../helpers/logs-web.js';
import { waitFor } from '../../helpers/wait.js';

// Issue 12's reporting must-show, through the simulator and the built binary: a fixture build
// reports to a local stand-in of the GitHub REST API exactly as upstream's notify_issues.py
// does (one status issue per component version, build and upload comments with links that
// open the stored logs, label changes); with the stand-in down during a build the build still
// succeeds and the reports arrive once it is back, each once.
const VM = 'build-fedora';
const STATUS = 'QubesOS/updates-status';
const TOKEN = 'ghp_qbuild_e2e_token';
let world: World;
let work: string;
let api: GithubApi;
let logsWeb: LogsWeb;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-report-e2e-'));
  api = await startGithubApi(TOKEN, [STATUS]);
  logsWeb = await startLogsWeb(() => join(world.stateDir('logs'), 'store'));
  writeFileSync(join(work, 'github-token'), `${TOKEN}\n`, { mode: 0o600 });
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    extraPillar: () => `  build_report_repo: ${STATUS}
  github-report:
    api-url: ${api.url}
    token-file: ${work}/github-token
    logs-url: ${logsWeb.url}
`,
  });
  // Shorter backoff than the pillar's 1 s … 5 min, so the test waits seconds, not minutes, once
  // the stand-in is back: the build qube's config, then a daemon restart (the simulator restarts it).
  const cfg = simPaths(world.formula).qube(VM).config;
  const c = JSON.parse(readFileSync(cfg, 'utf8')) as { build: { github: Record<string, unknown> } };
  expect(c.build.github).toEqual({
    apiUrl: api.url, tokenFile: `${work}/github-token`, statusRepo: STATUS, issuesRepo: 'QubesOS/qubes-issues',
    logsUrl: logsWeb.url, retryBaseMs: 1000, retryMaxMs: 300000,
  });
  Object.assign(c.build.github, { retryBaseMs: 200, retryMaxMs: 2000 });
  writeFileSync(cfg, JSON.stringify(c, null, 2));
  const pidFile = join(world.stateDir(VM), 'build', 'daemon.pid');
  const old = readFileSync(pidFile, 'utf8').trim();
  process.kill(Number(old), 'SIGTERM');
  await waitFor('the build daemon to be restarted', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== old, 60_000);
}, 240_000);
afterAll(async () => {
  await world?.down();
  await api?.close();
  logsWeb?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function trigger(): Promise<JobView> {
  const before = world.jobs(VM).length;
  expect(await world.pushWebhook()).toBe(202);
  return waitFor('the triggered job to end', () => {
    const all = world.jobs(VM);
    return all.length > before && all.every((j) => j.finishedAt) ? all[before] : undefined;
  }, 300_000);
}

const issue = (title: string): FakeIssue | undefined => api.issues(STATUS).find((i) => i.title === title);
const queued = () => {
  const dir = join(world.stateDir(VM), 'build', 'reports', 'queue');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
};
const linkOf = (body: string) => /\]\((http:\/\/127\.0\.0\.1:\d+\/blob\/main\/[^)]+)\)/.exec(body)?.[1];
const storedLog = (job: JobView, stage: string) => readFileSync(join(world.stateDir('logs'), 'store', job.stages.find((s) => s.name === stage)!.log!), 'utf8');

/**
 * Follows a comment's log link and returns what it serves: the log as committed in the logs
 * repository (the logs VM commits a stored log moments after it confirmed it, so a link may
 * be posted just before its commit).
 */
async function follow(body: string): Promise<string> {
  const link = linkOf(body);
  expect(link, body).toBeDefined();
  return waitFor(`${link} to serve the committed log`, async () => {
    const res = await fetch(link!);
    return res.status === 200 ? res.text() : undefined;
  }, 60_000);
}

describe('GitHub status reports through the simulator', () => {
  it('a build makes one status issue titled as upstream, built and uploaded comments with working log links, and the labels', async () => {
    const commit = await world.release('1.0.0', fixtureComponentFiles('1.0.0'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state, job.reason).toBe('ok');
    const i = await waitFor('the upload report', () => issue('fixture v1.0.0 (r4.3)')?.comments.length === 2 && queued().length === 0 && issue('fixture v1.0.0 (r4.3)'), 60_000);
    expect(i.body).toMatch(/^Update of fixture to v1\.0\.0 for Qubes OS r4\.3, see comments below/);
    expect(i.body).toContain(`\`Upload-component r4.3 fixture ${commit} current all\` (available 5 days from now)`);
    expect(i.body).toContain(`/commit/${commit}`);
    const [built, uploaded] = i.comments.map((c) => c.body);
    expect(built).toMatch(/^Package for fc42 was built \(\[build log\]\(http:\/\/127\.0\.0\.1:\d+\/blob\/main\/build-fedora\/fixture\/log_[^)]+\)\)\.\n\n<!-- qbuild:\S+ -->$/);
    expect(uploaded).toMatch(/^Package for fc42 was uploaded to current-testing repository \(\[upload log\]\(.*\)\)\.\n\n<!-- qbuild:\S+ -->$/);
    // The links open the stored, committed logs of exactly those stages.
    expect(await follow(built!)).toBe(storedLog(job, 'build-vm-fc42'));
    expect(await follow(uploaded!)).toBe(storedLog(job, 'upload'));
    expect(i.labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
    const labelCalls = api.calls.filter((c) => c.path.startsWith(`/repos/${STATUS}/issues/${i.number}/labels`)).map((c) => `${c.method} ${c.path.split('/labels')[1] || JSON.stringify((c.body as { labels: string[] }).labels)} ${c.status}`);
    expect(labelCalls).toEqual([
      'DELETE /r4.3-fc42-failed 404', 'POST ["r4.3-fc42-building"] 200',
      'DELETE /r4.3-fc42-failed 404', 'DELETE /r4.3-fc42-building 200',
      'DELETE /r4.3-fc42-failed 404', 'DELETE /r4.3-fc42-building 404', 'POST ["r4.3-fc42-cur-test"] 200',
    ]);
    expect(api.calls.filter((c) => c.method === 'POST' && c.path === `/repos/${STATUS}/issues`)).toHaveLength(1);
  }, 300_000);

  it('with the stand-in down during a build the build succeeds; the reports wait and arrive once it is back, each once', async () => {
    await api.down();
    await world.release('1.0.1', fixtureComponentFiles('1.0.1'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state, job.reason).toBe('ok');
    expect(queued().length).toBe(3); // building, built, uploaded: kept while GitHub is unreachable
    expect((await world.inQube(VM, ['role', 'build', 'status'])).stdout).toMatch(new RegExp(`^reports to GitHub: ${STATUS} at http://127\\.0\\.0\\.1:\\d+; 3 queued$`, 'm'));
    expect(issue('fixture v1.0.1 (r4.3)')).toBeUndefined();
    await api.up();
    const i = await waitFor('the queued reports to arrive', () => queued().length === 0 && issue('fixture v1.0.1 (r4.3)'), 120_000);
    expect(i.comments.map((c) => c.body.split(' (')[0])).toEqual(['Package for fc42 was built', 'Package for fc42 was uploaded to current-testing repository']);
    expect(await follow(i.comments[0]!.body)).toBe(storedLog(job, 'build-vm-fc42'));
    expect(i.labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
    // The build daemon kept trying while the stand-in was down (its own log).
    expect(readFileSync(simPaths(world.formula).qube(VM).log, 'utf8')).toMatch(/report build-started fixture 1\.0\.1 \(r4\.3\) vm-fc42: try 1 failed \(no answer: /);
    expect(api.issues(STATUS).map((x) => x.title)).toEqual(['fixture v1.0.0 (r4.3)', 'fixture v1.0.1 (r4.3)']);
    expect(issue('fixture v1.0.0 (r4.3)')!.comments).toHaveLength(2);
  }, 400_000);

  it('a failing build: "failed to build" with its log link and the last lines of the log in <details>, label -failed', async () => {
    await world.release('1.0.2', fixtureComponentFiles('1.0.2', 'failing'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state).toBe('failed');
    const i = await waitFor('the failure report', () => queued().length === 0 && issue('fixture v1.0.2 (r4.3)')?.comments.length === 1 && issue('fixture v1.0.2 (r4.3)'), 60_000);
    const body = i.comments[0]!.body;
    expect(body).toMatch(/^Package for fc42 failed to build \(\[build log\]\(.*\)\):\n\n\*\*Log tail \(last ~30 lines\):\*\*\n<details>\n\n```text\nLast 30 log lines:\n/);
    expect(body).toMatch(/this build fails on purpose/);
    expect(body).toMatch(/qbuild stage build-vm-fc42: FAILED: /);
    expect(await follow(body)).toBe(storedLog(job, 'build-vm-fc42'));
    expect(i.labels.map((l) => l.name)).toEqual(['r4.3-fc42-failed']);
  }, 300_000);

  it('the build daemon killed after GitHub took a comment but before it heard back: the restarted daemon finds its marker, no second comment', async () => {
    const held = api.holdReply('POST', /\/comments$/, /uploaded to current-testing/);
    await world.release('1.0.3', fixtureComponentFiles('1.0.3'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state, job.reason).toBe('ok');
    await held.arrived;
    const title = 'fixture v1.0.3 (r4.3)';
    expect(issue(title)!.comments).toHaveLength(2); // GitHub has it; the daemon does not know
    const pidFile = join(world.stateDir(VM), 'build', 'daemon.pid');
    const pid = readFileSync(pidFile, 'utf8').trim();
    process.kill(Number(pid), 'SIGKILL');
    held.release();
    expect(queued()).toHaveLength(1);
    await waitFor('the restarted daemon to deliver the report again', () => queued().length === 0, 120_000);
    expect(readFileSync(pidFile, 'utf8').trim()).not.toBe(pid);
    const i = issue(title)!;
    expect(i.comments.map((c) => c.body.split(' (')[0])).toEqual(['Package for fc42 was built', 'Package for fc42 was uploaded to current-testing repository']);
    const posts = api.calls.filter((c) => c.method === 'POST' && c.path === `/repos/${STATUS}/issues/${i.number}/comments`);
    expect(posts).toHaveLength(2);
    expect(i.labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
  }, 300_000);

  it('a failed upload (the upload host down): "failed to upload to current-testing repository" with the upload log and its tail', async () => {
    await world.sshd.close();
    await world.release('1.0.4', fixtureComponentFiles('1.0.4'), FIXTURE_EXECUTABLES);
    const job = await trigger();
    expect(job.state).toBe('failed');
    expect(job.stages.map((s) => `${s.name}:${s.status}`).slice(-1)).toEqual(['upload:failed']);
    const title = 'fixture v1.0.4 (r4.3)';
    const i = await waitFor('the upload failure report', () => queued().length === 0 && issue(title)?.comments.length === 2 && issue(title), 60_000);
    expect(i.comments[0]!.body).toMatch(/^Package for fc42 was built /);
    const body = i.comments[1]!.body;
    expect(body).toMatch(/^Package for fc42 failed to upload to current-testing repository \(\[upload log\]\(.*\)\):\n\n\*\*Log tail \(last ~30 lines\):\*\*\n<details>/);
    expect(body).toMatch(/qbuild stage upload: FAILED: /);
    expect(await follow(body)).toBe(storedLog(job, 'upload'));
    // Built and released, not uploaded: upstream leaves the labels as they are on a failed upload.
    expect(i.labels.map((l) => l.name)).toEqual([]);
  }, 300_000);
});
