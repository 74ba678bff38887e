import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, type JobView } from '../../../src/demo/world.js';
import { simPaths } from '../../../src/protocol/qrexec/sim/layout.js';
import { loadBuilt, recordBuilt } from '../../../src/roles/build/state/built-versions.js';
import { buildPaths } from '../../../src/roles/build/state/paths.js';
import { qbuildBin } from '../../helpers/binary.js';
import { startGithubApi, type FakeIssue, type GithubApi } from '../../helpers/github-api.js';
import { waitFor } from '../../helpers/wait.js';
import { buildFixtureVersion } from '../../helpers/world-build.js';
import { githubExample } from '../../protocol/github/fixtures.js';

// Upstream's announcements on referenced issues (notify_closed_issues), through the simulator
// and the built binary: the first upload of a component to current-testing only initialises
// its state; the next one, whose commit says `Fixes QubesOS/qubes-issues#12`, comments once on
// issue 12 of the issues repository with upstream's message-current-testing-vm-fedora and the
// cur-test label (also when the daemon is killed between GitHub taking the comment and hearing
// back); Upload-component to current then announces it with message-stable-vm-fedora.
const VM = 'build-fedora';
const STATUS = 'QubesOS/updates-status';
const ISSUES = 'QubesOS/qubes-issues';
const TOKEN = 'ghp_qbuild_e2e_token';
const DAY = 86_400_000;
let world: World;
let work: string;
let api: GithubApi;
let gitUrl: string;

const indent = (text: string, n: number) => text.trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-announce-e2e-'));
  api = await startGithubApi(TOKEN, [STATUS, ISSUES]);
  // Issues 1..12 exist in the issues repository, 12 waiting for a fix.
  for (let i = 1; i <= 12; i++) {
    const res = await fetch(`${api.url}/repos/${ISSUES}/issues`, { method: 'POST', headers: { authorization: `token ${TOKEN}` }, body: JSON.stringify({ title: `bug ${i}`, labels: ['r4.3-fc42-failed'] }) });
    expect(res.status).toBe(201);
  }
  writeFileSync(join(work, 'github-token'), `${TOKEN}\n`, { mode: 0o600 });
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    extraPillar: ({ maintainers, maintainerKeys }) => `  build_report_repo: ${STATUS}
  build_issues_repo: ${ISSUES}
  github-report:
    api-url: ${api.url}
    token-file: ${work}/github-token
  commands_public_keys: |
${indent(maintainerKeys, 4)}
  command-maintainers:
    ${maintainers[0]}:
      components: _all_
      distributions: _all_
`,
  });
  const c = JSON.parse(readFileSync(simPaths(world.formula).qube(VM).config, 'utf8')) as { build: { components: { url: string }[] } };
  gitUrl = c.build.components[0]!.url.replace(/\.git$/, '');
}, 240_000);
afterAll(async () => {
  await world?.down();
  await api?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const paths = () => buildPaths(world.stateDir(VM));
const queued = () => {
  const dir = join(paths().root, 'reports', 'queue');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
};
const issue = (n: number): FakeIssue => api.issues(ISSUES)[n - 1]!;
const announcements = () => api.issues(ISSUES).flatMap((i) => i.comments.map((c) => ({ issue: i.number, body: c.body })));
const state = (repository: string) => {
  const f = join(paths().root, 'announce', `r4.3-fixture-vm-fc42-${repository}`);
  return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
};

const build = (version: string, message?: string): Promise<JobView> => buildFixtureVersion(world, VM, version, message);

let lastSigned = 0;
/** The maintainer's signed `Upload-component … current all` for the built commit, six days after it went into current-testing. */
async function promoteToCurrent(commit: string): Promise<JobView> {
  const b = loadBuilt(paths(), 'fixture')['vm-fc42']!;
  recordBuilt(paths(), 'fixture', 'vm-fc42', { ...b, at: new Date(Date.now() - 6 * DAY).toISOString() });
  while (Math.floor(Date.now() / 1000) === lastSigned) await new Promise((r) => setTimeout(r, 100));
  lastSigned = Math.floor(Date.now() / 1000);
  const signed = await world.maintainerHome.gpg(['--clearsign', '-u', world.maintainers[0]!.fpr], `Upload-component r4.3 fixture ${commit} current all\n`);
  const payload = githubExample('issue_comment', 'created');
  (payload.comment as Record<string, unknown>).body = signed.stdout.replace(/\n/g, '\r\n');
  const before = world.jobs(VM).length;
  expect(await world.commentWebhook(payload)).toBe(202);
  const job = await waitFor('the promotion job to end', () => world.jobs(VM).slice(before).find((j) => j.finishedAt && j.stages.some((s) => s.name.startsWith('promote-'))), 300_000);
  expect(job.state, job.reason).toBe('ok');
  return job;
}

const FOOT = (from: string, to: string) => `[Changes included in this update][commits]

[builder-github]: https://github.com/QubesOS/qubes-builder-github
[commits]: ${gitUrl}/compare/${from}...${to}

<!-- qbuild:`;

describe('announcements on referenced issues through the simulator', () => {
  let c1: string;
  let c2: string;

  it('the first upload to current-testing and to current: state initialised, nothing announced', async () => {
    c1 = (await build('1.0.0', 'Release 1.0.0\n\nFixes QubesOS/qubes-issues#3')).commit!;
    await waitFor('the status reports', () => queued().length === 0 && api.issues(STATUS)[0]?.comments.length === 2, 60_000);
    expect(state('current-testing')).toBe(`${c1}\n`);
    await promoteToCurrent(c1);
    await waitFor('the promotion report', () => queued().length === 0 && api.issues(STATUS)[0]?.comments.length === 3, 60_000);
    expect(state('current')).toBe(`${c1}\n`);
    expect(announcements()).toEqual([]);
    expect(api.calls.filter((c) => c.path.startsWith(`/repos/${ISSUES}/issues/`))).toEqual([]);
  }, 600_000);

  it('the next version fixes #12: one comment on issue 12 with upstream\'s Fedora testing text and the cur-test label, once though the daemon is killed mid-delivery', async () => {
    const held = api.holdReply('POST', new RegExp(`^/repos/${ISSUES}/issues/12/comments$`));
    const pidFile = join(paths().root, 'daemon.pid');
    c2 = (await build('1.0.1', 'Fix the frobnicator\n\nFixes QubesOS/qubes-issues#12\nSee QubesOS/qubes-issues#11')).commit!;
    await held.arrived; // GitHub has the comment; the daemon has not heard back
    const pid = readFileSync(pidFile, 'utf8').trim();
    process.kill(Number(pid), 'SIGKILL');
    held.release();
    expect(queued().map((f) => (JSON.parse(readFileSync(join(paths().root, 'reports', 'queue', f), 'utf8')) as { event: { kind: string } }).event.kind)).toContain('announce');
    await waitFor('the restarted daemon to deliver what was left', () => queued().length === 0 && readFileSync(pidFile, 'utf8').trim() !== pid, 120_000);
    expect(announcements().map((a) => a.issue)).toEqual([12]);
    expect(issue(12).comments[0]!.body).toBe(`**Automated announcement from [builder-github]**

The component \`fixture\` (including package \`fixture\`) has been pushed to the \`r4.3\` testing repository for the Fedora template.
To test this update, please install it with the following command:
\`\`\`
sudo dnf update --enablerepo=qubes-vm-r4.3-current-testing
\`\`\`
${FOOT(c1, c2)}${issue(12).comments[0]!.body.split('<!-- qbuild:')[1]}`);
    expect(issue(12).comments[0]!.body).toMatch(/\n\n<!-- qbuild:\S+ -->$/);
    expect(issue(12).labels.map((l) => l.name)).toEqual(['r4.3-fc42-cur-test']);
    expect(issue(11).labels.map((l) => l.name)).toEqual(['r4.3-fc42-failed']); // mentioned, not fixed
    expect(api.calls.filter((c) => c.method === 'POST' && c.path === `/repos/${ISSUES}/issues/12/comments`)).toHaveLength(1);
    expect(state('current-testing')).toBe(`${c2}\n`);
  }, 600_000);

  it('Upload-component to current announces it with upstream\'s stable text and moves the labels to stable', async () => {
    await promoteToCurrent(c2);
    await waitFor('the stable announcement', () => queued().length === 0 && issue(12).comments.length === 2, 60_000);
    expect(issue(12).comments[1]!.body.startsWith(`**Automated announcement from [builder-github]**

The component \`fixture\` (including package \`fixture\`) has been pushed to the \`r4.3\` stable repository for the Fedora template.
To install this update, please use the standard update command:
\`\`\`
sudo dnf update
\`\`\`
${FOOT(c1, c2)}`)).toBe(true);
    expect(issue(12).labels.map((l) => l.name)).toEqual(['r4.3-fc42-stable', 'r4.3-stable']);
    expect(announcements().map((a) => a.issue)).toEqual([12, 12]);
    expect(state('current')).toBe(`${c2}\n`);
  }, 600_000);
});
