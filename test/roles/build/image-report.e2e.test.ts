import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnfVerdict, gpgvVerdict, rpmKeysVerdict } from '../../../src/demo/verdicts.js';
import { World, type JobView } from '../../../src/demo/world.js';
import { qbuildBin } from '../../helpers/binary.js';
import { startGithubApi, type FakeIssue, type GithubApi } from '../../helpers/github-api.js';
import { templateRecipe } from '../../helpers/template-recipe.js';
import { startLogsWeb, type LogsWeb } from '../../helpers/logs-web.js';
import { waitFor } from '../../helpers/wait.js';
import { githubExample } from '../../protocol/github/fixtures.js';

// Templates through the simulator and the built binary, in upstream's shapes
// (AutoActionTemplate, notify_issues.py, plugins/template): a maintainer's signed
// Build-template builds a real template RPM (rpmbuild), rpm-signs it, publishes it in a signed
// templates-itl-testing RPM repository and uploads that to the test sshd (rpmkeys, gpgv and dnf
// judge the uploaded copy); it makes the status issue `qubes-template-NAME V-TS (r4.3)` with
// upstream's message-build-report-template, the built comment whose link serves the committed
// build log, the uploaded-to-templates-itl-testing comment and the labels (R-testing); the
// Upload-template line of that issue's body, signed as it stands, publishes and uploads
// templates-itl and reports it on the same issue with the stable label.
const VM = 'build-fedora';
const STATUS = 'QubesOS/updates-status';
const TOKEN = 'ghp_qbuild_e2e_token';
const TEMPLATE = 'fedora-42-xfce';
let world: World;
let work: string;
let api: GithubApi;
let logsWeb: LogsWeb;

const indent = (text: string, n: number) => text.trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-image-report-e2e-'));
  api = await startGithubApi(TOKEN, [STATUS]);
  logsWeb = await startLogsWeb(() => join(world.stateDir('logs'), 'store'));
  writeFileSync(join(work, 'github-token'), `${TOKEN}\n`, { mode: 0o600 });
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    extraPillar: ({ maintainers, maintainerKeys }) => `  build_report_repo: ${STATUS}
  github-report:
    api-url: ${api.url}
    token-file: ${work}/github-token
    logs-url: ${logsWeb.url}
  commands_public_keys: |
${indent(maintainerKeys, 4)}
  command-maintainers:
    ${maintainers[0]}:
      components: _all_
      distributions: _all_
      templates: _all_
      iso: true
`,
    // The env's template recipe (pillar build-envs:fedora:templates), as provision writes it.
    settings: [{ vm: VM, section: 'build', values: { templates: [{ name: TEMPLATE, argv: templateRecipe(work) }], minAgeDays: 0 } }],
  });
}, 240_000);
afterAll(async () => {
  await world?.down();
  await api?.close();
  logsWeb?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const queued = () => {
  const dir = join(world.stateDir(VM), 'build', 'reports', 'queue');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')) : [];
};
const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 12);
const linkOf = (body: string) => /\]\((http:\/\/127\.0\.0\.1:\d+\/blob\/main\/[^)]+)\)/.exec(body)?.[1];

/** Follows a comment's log link: what it serves once the logs qube committed the log. */
async function follow(body: string): Promise<string> {
  const link = linkOf(body);
  expect(link, body).toBeDefined();
  return waitFor(`${link} to serve the committed log`, async () => {
    const res = await fetch(link!);
    return res.status === 200 ? res.text() : undefined;
  }, 60_000);
}

let lastSigned = 0;
/** `line` clearsigned by the maintainer, posted as an issue comment webhook; the command job once it ended. */
async function command(line: string): Promise<JobView> {
  while (Math.floor(Date.now() / 1000) === lastSigned) await new Promise((r) => setTimeout(r, 100));
  lastSigned = Math.floor(Date.now() / 1000);
  const signed = await world.maintainerHome.gpg(['--clearsign', '-u', world.maintainers[0]!.fpr], `${line}\n`);
  const payload = githubExample('issue_comment', 'created');
  (payload.comment as Record<string, unknown>).body = signed.stdout.replace(/\n/g, '\r\n');
  const before = world.jobs(VM).length;
  expect(await world.commentWebhook(payload)).toBe(202);
  return waitFor(`the job of ${line}`, () => world.jobs(VM).slice(before).find((j) => j.kind === 'command' && j.finishedAt), 300_000);
}

const labelCalls = (n: number) => api.calls
  .filter((c) => c.path.startsWith(`/repos/${STATUS}/issues/${n}/labels`))
  .map((c) => (c.method === 'POST' ? `+${(c.body as { labels: string[] }).labels.join(',')}` : `-${decodeURIComponent(c.path.split('/').pop()!)}`));

/** The uploaded repository on the test sshd, as a user's dnf sees it: the template RPM signed, repomd.xml signed, dnf (gpgcheck, repo_gpgcheck) downloads it. */
async function verifiedUpload(repository: string, rpm: string): Promise<void> {
  const repo = join(world.sshd.root, 'yum', repository);
  const key = await world.signingKeyFile('fedora');
  const scratch = mkdtempSync(join(work, 'verdict-'));
  expect(await rpmKeysVerdict(join(repo, 'rpm', rpm), key, scratch)).toMatch(/Signature, key ID [0-9a-f]+: OK$/);
  expect(await gpgvVerdict(join(repo, 'repodata', 'repomd.xml.asc'), join(repo, 'repodata', 'repomd.xml'), key, scratch)).toMatch(/^Good signature from/);
  expect((await dnfVerdict(repo, key, `qubes-template-${TEMPLATE}`, '42', scratch)).endsWith(`/${rpm}`)).toBe(true);
}

describe('template reports through the simulator', () => {
  let issue: FakeIssue;
  let id: string;
  let rpm: string;

  it('Build-template: a signed RPM in templates-itl-testing, uploaded; upstream\'s status issue and body, the built and uploaded comments with working log links, the labels', async () => {
    const ts = stamp(new Date());
    id = `4.3.0-${ts}`;
    rpm = `qubes-template-${TEMPLATE}-${id}.noarch.rpm`;
    const job = await command(`Build-template r4.3 ${TEMPLATE} ${ts}`);
    expect(job.state, job.reason).toBe('ok');
    expect(job.stages.map((s) => `${s.name}:${s.status}`)).toEqual([
      `build-template-${TEMPLATE}:ok`, `release-template-${TEMPLATE}:ok`, 'publish-templates-itl-testing:ok', 'release-templates-itl-testing:ok', 'upload:ok',
    ]);
    await verifiedUpload('templates-itl-testing', rpm);
    const title = `qubes-template-${TEMPLATE} ${id} (r4.3)`;
    issue = await waitFor('the built and uploaded reports', () => queued().length === 0 && api.issues(STATUS).find((i) => i.title === title && i.comments.length === 2), 60_000);
    expect(api.issues(STATUS).map((i) => i.title)).toEqual([title]);
    expect(issue.body).toBe(`Template ${TEMPLATE} ${id} for Qubes OS r4.3, see comments below for details and build status.

If you're release manager, you can issue GPG-inline signed command (depending on template):

* \`Upload-template r4.3 ${TEMPLATE} ${id} templates-itl\` (available 0 days from now)
* \`Upload-template r4.3 ${TEMPLATE} ${id} templates-community\` (available 0 days from now)

Above commands will work only if package in testing repository isn't superseded by newer version.

For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.
`);
    const built = issue.comments[0]!.body;
    expect(built).toMatch(new RegExp(`^Template ${TEMPLATE} was built \\(\\[build log\\]\\(http://127\\.0\\.0\\.1:\\d+/blob/main/${VM}/[^)]+\\)\\)\\.\\n\\n<!-- qbuild:\\S+ -->$`));
    const log = await follow(built);
    const stage = job.stages.find((s) => s.name === `build-template-${TEMPLATE}`)!;
    expect(log).toBe(readFileSync(join(world.stateDir('logs'), 'store', stage.log!), 'utf8'));
    expect(log).toContain(`qbuild: image 4.3.0: ${rpm}`);
    const uploaded = issue.comments[1]!.body;
    expect(uploaded).toMatch(new RegExp(`^Template ${TEMPLATE} was uploaded to templates-itl-testing repository \\(\\[upload log\\]\\([^)]+\\)\\)\\.\\n\\n<!-- qbuild:\\S+ -->$`));
    expect(await follow(uploaded)).toContain('qbuild stage upload: done');
    expect(labelCalls(issue.number)).toEqual(['-r4.3-failed', '+r4.3-building', '-r4.3-failed', '-r4.3-building', '-r4.3-failed', '-r4.3-building', '+r4.3-testing']);
    expect(issue.labels.map((l) => l.name)).toEqual(['r4.3-testing']);
  }, 420_000);

  it('Upload-template, the body\'s templates-itl line signed as it stands: templates-itl published and uploaded, the uploaded comment on the same issue and the stable label', async () => {
    const line = /`(Upload-template [^`]+ templates-itl)`/.exec(issue.body)![1]!;
    const job = await command(line);
    expect(job.state, job.reason).toBe('ok');
    expect(job.stages.map((s) => `${s.name}:${s.status}`)).toEqual(['publish-templates-itl:ok', 'release-templates-itl:ok', 'upload:ok']);
    await verifiedUpload('templates-itl', rpm);
    expect(existsSync(join(world.sshd.root, 'yum', 'templates-itl-testing', 'rpm', rpm))).toBe(true);
    issue = await waitFor('the uploaded report', () => queued().length === 0 && api.issues(STATUS).find((i) => i.number === issue.number && i.comments.length === 3), 60_000);
    expect(api.issues(STATUS)).toHaveLength(1);
    const uploaded = issue.comments[2]!.body;
    expect(uploaded).toMatch(new RegExp(`^Template ${TEMPLATE} was uploaded to templates-itl repository \\(\\[upload log\\]\\([^)]+\\)\\)\\.\\n\\n<!-- qbuild:\\S+ -->$`));
    expect(await follow(uploaded)).toContain('qbuild stage upload: done');
    expect(labelCalls(issue.number).slice(7)).toEqual(['-r4.3-failed', '-r4.3-building', '-r4.3-testing', '+r4.3-stable']);
    expect(issue.labels.map((l) => l.name)).toEqual(['r4.3-stable']);
  }, 420_000);
});
