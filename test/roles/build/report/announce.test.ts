import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildConfig, Dist } from '../../../../src/roles/build/pipeline/types.js';
import { announceDir } from '../../../../src/roles/build/report/announce-state.js';
import { announcePromotion, announceTestingUpload } from '../../../../src/roles/build/report/announce.js';
import type { AnnounceEvent } from '../../../../src/roles/build/report/events.js';
import { listQueued, removeQueued } from '../../../../src/roles/build/report/queue.js';
import { buildPaths } from '../../../../src/roles/build/state/paths.js';
import { run } from '../../../helpers/run.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-announce-');
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'M', GIT_AUTHOR_EMAIL: 'm@x.invalid', GIT_COMMITTER_NAME: 'M', GIT_COMMITTER_EMAIL: 'm@x.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };
const FC42: Dist = { name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' };
const URL = 'https://github.com/QubesOS/qubes-core-admin.git';

async function git(dir: string, ...args: string[]): Promise<string> {
  const r = await run('git', ['-C', dir, ...args], { env: ENV });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/** A component repository; `commit` adds a commit with that message and returns its id. */
async function repo(): Promise<{ gitDir: string; commit(message: string): Promise<string> }> {
  const dir = tmp();
  await git(dir, 'init', '-q', '-b', 'main');
  let n = 0;
  return {
    gitDir: join(dir, '.git'),
    commit: async (message) => {
      writeFileSync(join(dir, 'f'), `${++n}\n`);
      await git(dir, 'add', 'f');
      await git(dir, 'commit', '-q', '-m', message);
      return git(dir, 'rev-parse', 'HEAD');
    },
  };
}

function world(github = true) {
  const paths = buildPaths(tmp());
  const config = { release: 'r4.3', ...(github ? { github: { issuesRepo: 'QubesOS/qubes-issues' } } : {}) } as unknown as BuildConfig;
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);
  /** The queued announcements, then the queue emptied (as the dispatcher would). */
  const taken = (): AnnounceEvent[] => listQueued(paths).map((q) => {
    removeQueued(q.file);
    if (!('report' in q) || q.report.event.kind !== 'announce') throw new Error('not an announcement');
    return q.report.event;
  });
  const state = (name: string) => {
    const f = join(announceDir(paths), `r4.3-core-admin-vm-fc42-${name}`);
    return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
  };
  return { paths, config, lines, say, taken, state };
}

const up = (version: string, commit: string) => ({ component: 'core-admin', version, dist: FC42, commit, url: URL });

describe('announcements: upstream\'s state files and rules (notify_issues.py run)', () => {
  it('first upload to current-testing: no announcement, the state file initialised with the commit', async () => {
    const r = await repo();
    const c1 = await r.commit('Initial\n\nFixes QubesOS/qubes-issues#1');
    const w = world();
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    expect(w.taken()).toEqual([]);
    expect(w.state('current-testing')).toBe(`${c1}\n`);
    expect(w.lines).toEqual(['report: announcement of core-admin 1.0 for vm-fc42 in current-testing: first upload there, none (state initialised)']);
  });

  it('second upload: one announcement per issue referenced in previous..current (earlier commits not), then the state moves', async () => {
    const r = await repo();
    const c1 = await r.commit('Initial\n\nFixes QubesOS/qubes-issues#1');
    const w = world();
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    await r.commit('Fix a\n\nFixes QubesOS/qubes-issues#12\nSee QubesOS/qubes-issues#13');
    const c2 = await r.commit('Fix b\n\ncloses https://github.com/QubesOS/qubes-issues/issues/14\nfixes QubesOS/qubes-issues#12\nFixes QubesOS/other#15');
    await announceTestingUpload(w.config, w.paths, up('1.1', c2), r.gitDir, w.say);
    const base = { kind: 'announce', component: 'core-admin', version: '1.1', release: 'r4.3', dist: 'vm-fc42', repository: 'current-testing', previous: c1, commit: c2, gitUrl: 'https://github.com/QubesOS/qubes-core-admin' };
    expect(w.taken()).toEqual([{ ...base, issue: 14 }, { ...base, issue: 12 }]); // newest commit first
    expect(w.state('current-testing')).toBe(`${c2}\n`);
    // A third upload announces only what is new since the second.
    const c3 = await r.commit('Nothing referenced');
    await announceTestingUpload(w.config, w.paths, up('1.2', c3), r.gitDir, w.say);
    expect(w.taken()).toEqual([]);
    expect(w.state('current-testing')).toBe(`${c3}\n`);
  });

  it('security-testing: no announcement, the state still written; current: initialised, then the issues worked out at the current-testing upload', async () => {
    const r = await repo();
    const c1 = await r.commit('Initial');
    const w = world();
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    announcePromotion(w.config, w.paths, up('1.0', c1), 'security-testing', w.say);
    expect(w.state('security-testing')).toBe(`${c1}\n`);
    announcePromotion(w.config, w.paths, up('1.0', c1), 'current', w.say);
    expect(w.state('current')).toBe(`${c1}\n`);
    expect(w.taken()).toEqual([]);

    await r.commit('Fix\n\nFixes QubesOS/qubes-issues#20');
    const c2 = await r.commit('Fix\n\nFixes QubesOS/qubes-issues#21');
    await announceTestingUpload(w.config, w.paths, up('1.1', c2), r.gitDir, w.say);
    expect(w.taken().map((e) => `${e.repository} #${e.issue}`)).toEqual(['current-testing #21', 'current-testing #20']);
    const c3 = await r.commit('Fix\n\nFixes QubesOS/qubes-issues#22');
    await announceTestingUpload(w.config, w.paths, up('1.2', c3), r.gitDir, w.say);
    expect(w.taken().map((e) => `${e.repository} #${e.issue}`)).toEqual(['current-testing #22']);

    rmSync(r.gitDir, { recursive: true, force: true }); // gone by the promotion, as the job's work dir
    announcePromotion(w.config, w.paths, up('1.2', c3), 'security-testing', w.say);
    expect(w.taken()).toEqual([]);
    expect(w.state('security-testing')).toBe(`${c3}\n`);
    announcePromotion(w.config, w.paths, up('1.2', c3), 'current', w.say);
    // current went from 1.0 to 1.2: everything since c1, as `git log c1..c3`.
    const stable = w.taken();
    expect(stable.map((e) => `${e.repository} #${e.issue} ${e.previous === c1 && e.commit === c3}`)).toEqual(['current #22 true', 'current #21 true', 'current #20 true']);
    expect(w.state('current')).toBe(`${c3}\n`);
  });

  it('a promotion whose issues were not worked out from current\'s commit announces nothing and says so; the state is written', async () => {
    const r = await repo();
    const c1 = await r.commit('Initial');
    const w = world();
    announcePromotion(w.config, w.paths, up('1.0', c1), 'current', w.say);
    const c2 = await r.commit('Fix\n\nFixes QubesOS/qubes-issues#20');
    announcePromotion(w.config, w.paths, up('1.1', c2), 'current', w.say); // never uploaded to current-testing with reporting on
    expect(w.taken()).toEqual([]);
    expect(w.state('current')).toBe(`${c2}\n`);
    expect(w.lines.at(-1)).toBe(`report: announcement of core-admin 1.1 for vm-fc42 in current: none: the referenced issues of ${c1.slice(0, 12)}..${c2.slice(0, 12)} were not worked out when it was built`);
  });

  it('a previous commit missing from the git directory: no announcement, one line, the state still moves (upstream: git log fails)', async () => {
    const r = await repo();
    const c1 = await r.commit('Fixes QubesOS/qubes-issues#3');
    const w = world();
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    writeFileSync(join(announceDir(w.paths), 'r4.3-core-admin-vm-fc42-current-testing'), `${'d'.repeat(40)}\n`);
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    expect(w.taken()).toEqual([]);
    expect(w.lines.at(-1)).toMatch(/^report: announcement of core-admin 1\.0 for vm-fc42 in current-testing: not made: commit d{40} is not in /);
    expect(w.state('current-testing')).toBe(`${c1}\n`);
  });

  it('reporting off (no github config): nothing recorded, nothing queued', async () => {
    const r = await repo();
    const c1 = await r.commit('Initial');
    const w = world(false);
    await announceTestingUpload(w.config, w.paths, up('1.0', c1), r.gitDir, w.say);
    announcePromotion(w.config, w.paths, up('1.0', c1), 'current', w.say);
    expect(existsSync(announceDir(w.paths))).toBe(false);
    expect(w.taken()).toEqual([]);
    expect(w.lines).toEqual([]);
  });
});
