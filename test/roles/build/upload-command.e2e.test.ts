import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnfVerdict, gpgvVerdict } from '../../../src/demo/verdicts.js';
import { World, type JobView } from '../../../src/demo/world.js';
import { loadBuilt, recordBuilt } from '../../../src/roles/build/state/built-versions.js';
import { buildPaths } from '../../../src/roles/build/state/paths.js';
import { qbuildBin } from '../../helpers/binary.js';
import { waitFor } from '../../helpers/wait.js';
import { buildFixtureVersion } from '../../helpers/world-build.js';
import { githubExample } from '../../protocol/github/fixtures.js';

// The must-show of issue 12: a fixture build, then a maintainer's `gpg --clearsign`ed
// Upload-component comment delivered the real way — GitHub's own issue_comment example
// payload with that body, HMAC-signed, into sys-net's listener → ProcessGithubCommand in the
// build qube → the build daemon's command job → exactly that version in current, its metadata
// signed through the gate (gpgv, dnf), uploaded to the loopback sshd; the others stay.
const VM = 'build-fedora';
const DAY = 86_400_000;
let world: World;
let work: string;

const indent = (text: string, n: number) => text.trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-upload-cmd-'));
  world = await World.create({
    work, bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    // The maintainer's key signs commands, and may ask for every component and dist.
    extraPillar: ({ maintainers, maintainerKeys }) => `  commands_public_keys: |
${indent(maintainerKeys, 4)}
  command-maintainers:
    ${maintainers[0]}:
      components: _all_
      distributions: _all_
`,
  });
}, 180_000);
afterAll(async () => {
  await world?.down();
  if (work) rmSync(work, { recursive: true, force: true });
});

const paths = () => buildPaths(world.stateDir(VM));
const repoDir = (repository: string) => join(world.repositoryRoot('fedora'), 'rpm', 'r4.3', repository, 'vm', 'fc42');

/** Every file under `dir` (symlinks followed) with its sha256: a repository's exact content. */
function tree(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tree(p, base) : [`${relative(base, p)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`];
  }).sort();
}

/** Every stored log text of the logs qube (what the public logs repository holds). */
function storedLogs(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(readFileSync(join(d, e.name), 'utf8'));
    }
  };
  const store = join(world.stateDir('logs'), 'store');
  if (existsSync(store)) walk(store);
  return out;
}

const buildVersion = (version: string): Promise<JobView> => buildFixtureVersion(world, VM, version);

let lastSigned = 0;
/** The maintainer's `gpg --clearsign` of `line`, as a GitHub comment body (GitHub stores CRLF line ends). */
async function signedComment(line: string): Promise<Record<string, unknown>> {
  // gpg signatures carry their creation second: a new second makes a new signature (not a replay).
  while (Math.floor(Date.now() / 1000) === lastSigned) await new Promise((r) => setTimeout(r, 100));
  lastSigned = Math.floor(Date.now() / 1000);
  const signed = await world.maintainerHome.gpg(['--clearsign', '-u', world.maintainers[0]!.fpr], `${line}\n`);
  const payload = githubExample('issue_comment', 'created');
  (payload.comment as Record<string, unknown>).body = signed.stdout.replace(/\n/g, '\r\n');
  return payload;
}

const promotionJobs = () => world.jobs(VM).filter((j) => j.stages.some((s) => s.name.startsWith('promote-')));

describe('Upload-component through a signed GitHub comment (webhook → sys-net → ProcessGithubCommand → build daemon)', () => {
  let commit1: string;
  let current1: string[];

  it('builds 1.0.0 into current-testing', async () => {
    const job = await buildVersion('1.0.0');
    commit1 = job.commit!;
    expect(loadBuilt(paths(), 'fixture')['vm-fc42']).toMatchObject({ version: '1.0.0', commit: commit1, files: ['rpm/qbuild-fixture-1.0.0-1.fc42.noarch.rpm', 'rpm/qbuild-fixture-1.0.0-1.fc42.src.rpm'] });
    expect(existsSync(repoDir('current'))).toBe(false);
  }, 300_000);

  it('refuses it while the packages are younger than min-age-days: the reason is in a published log, nothing moved', async () => {
    expect(await world.commentWebhook(await signedComment(`Upload-component r4.3 fixture ${commit1} current all`))).toBe(202);
    await waitFor('the refusal in a published log', () => storedLogs().some((t) => t.includes('less than min-age-days (5)')), 120_000);
    expect(existsSync(repoDir('current'))).toBe(false);
    expect(promotionJobs()).toEqual([]);
  }, 180_000);

  it('six days later, moves exactly 1.0.0 to current: signed metadata (gpgv), dnf installs it, uploaded, testing unchanged', async () => {
    const testing = tree(repoDir('current-testing'));
    // Time passing, as the build qube sees it: the version went into current-testing six days ago.
    const b = loadBuilt(paths(), 'fixture')['vm-fc42']!;
    recordBuilt(paths(), 'fixture', 'vm-fc42', { ...b, at: new Date(Date.now() - 6 * DAY).toISOString() });
    expect(await world.commentWebhook(await signedComment(`Upload-component r4.3 fixture ${commit1} current all`))).toBe(202);
    const job = await waitFor('the promotion job to end', () => promotionJobs().find((j) => j.finishedAt), 300_000);
    expect(job.state, job.reason).toBe('ok');
    expect(job.stages.filter((s) => /^(promote|upload)/.test(s.name)).map((s) => `${s.name}:${s.status}`))
      .toEqual(['promote-vm-fc42:ok', 'promote-release-vm-fc42:ok', 'upload:ok']);

    const current = repoDir('current');
    expect(readlinkSync(current)).toMatch(/^\.versions\/fc42\//);
    expect(readdirSync(join(current, 'rpm')).sort()).toEqual(['qbuild-fixture-1.0.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.0.0-1.fc42.src.rpm']);
    const key = await world.signingKeyFile('fedora');
    expect(await gpgvVerdict(join(current, 'repodata', 'repomd.xml.asc'), join(current, 'repodata', 'repomd.xml'), key, mkdtempSync(join(work, 'v-')))).toMatch(/Good signature/);
    expect(await dnfVerdict(current, key, 'qbuild-fixture', '42', mkdtempSync(join(work, 'v-')))).toMatch(/qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm$/);
    expect(tree(repoDir('current-testing'))).toEqual(testing);
    // Uploaded: the mirror's current/vm/fc42 is the promoted tree, through sys-net's local.ConnectSSH.
    expect(tree(join(world.sshd.root, 'yum', 'current', 'vm', 'fc42'))).toEqual(tree(current));
    current1 = tree(current);
  }, 300_000);

  it('a newer build stays in current-testing; a command naming the old commit is refused, nothing moved', async () => {
    const job = await buildVersion('1.0.1');
    expect(readdirSync(join(repoDir('current-testing'), 'rpm')).sort()).toEqual([
      'qbuild-fixture-1.0.0-1.fc42.noarch.rpm', 'qbuild-fixture-1.0.0-1.fc42.src.rpm', 'qbuild-fixture-1.0.1-1.fc42.noarch.rpm', 'qbuild-fixture-1.0.1-1.fc42.src.rpm',
    ]);
    expect(tree(repoDir('current'))).toEqual(current1);
    const promotions = promotionJobs().length;
    expect(await world.commentWebhook(await signedComment(`Upload-component r4.3 fixture ${commit1} current all`))).toBe(202);
    await waitFor('the refusal in a published log', () => storedLogs().some((t) => t.includes(`is ${job.commit} (1.0.1), not ${commit1}`)), 120_000);
    expect(tree(repoDir('current'))).toEqual(current1);
    expect(promotionJobs().length).toBe(promotions);
  }, 400_000);
});
