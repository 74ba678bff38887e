import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeChanges } from '../../../../src/roles/build/report/changes.js';
import { run } from '../../../helpers/run.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-changes-');
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'M', GIT_AUTHOR_EMAIL: 'm@x.invalid', GIT_COMMITTER_NAME: 'M', GIT_COMMITTER_EMAIL: 'm@x.invalid', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' };

async function git(dir: string, ...args: string[]): Promise<string> {
  const r = await run('git', ['-C', dir, ...args], { env: ENV });
  if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString();
}

async function commit(dir: string, message: string, n: number): Promise<void> {
  writeFileSync(join(dir, 'f'), `${n}\n`);
  await git(dir, 'add', 'f');
  // Distinct commit times, so date order is the history's order.
  await run('git', ['-C', dir, 'commit', '-q', '-m', message], { env: { ...ENV, GIT_AUTHOR_DATE: `${1700000000 + n} +0000`, GIT_COMMITTER_DATE: `${1700000000 + n} +0000` } });
}

describe('the status issue\'s changes (upstream get_package_changes)', () => {
  it('shortlog since the previous v* tag is exactly git log --pretty=format:owner/repo@%h %s; referenced issues', async () => {
    const dir = tmp();
    await git(dir, 'init', '-q', '-b', 'main');
    await commit(dir, 'Initial', 1);
    await commit(dir, 'Release 1.0.0', 2);
    await git(dir, 'tag', '-a', '-m', 'v1.0.0', 'v1.0.0');
    await commit(dir, 'Fix the frobnicator\n\nFixes QubesOS/qubes-issues#1234', 3);
    await commit(dir, 'Add a knob (see https://github.com/QubesOS/Qubes-issues/issues/77)', 4);
    await commit(dir, 'Release 1.1.0', 5);
    await git(dir, 'tag', '-a', '-m', 'v1.1.0', 'v1.1.0');
    const head = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const c = await describeChanges(join(dir, '.git'), head, 'https://github.com/QubesOS/qubes-core-admin.git', 'QubesOS/qubes-issues');
    const expected = (await git(dir, 'log', '--pretty=format:QubesOS/qubes-core-admin@%h %s', 'v1.0.0..v1.1.0')).split('\n');
    expect(c).toEqual({
      gitUrl: 'https://github.com/QubesOS/qubes-core-admin', previous: 'v1.0.0', shortlog: expected,
      issues: ['QubesOS/qubes-issues#77', 'QubesOS/qubes-issues#1234'], // newest commit first
    });
    expect(c.shortlog).toHaveLength(3);
  });

  it('no earlier tag: from the root commit (not listed); a single commit: no history', async () => {
    const dir = tmp();
    await git(dir, 'init', '-q', '-b', 'main');
    await commit(dir, 'Initial', 1);
    const root = (await git(dir, 'rev-parse', 'HEAD')).trim();
    expect(await describeChanges(join(dir, '.git'), root, 'https://x.example/o/r', 'QubesOS/qubes-issues')).toEqual({ gitUrl: 'https://x.example/o/r', previous: '', shortlog: [], issues: [] });
    await commit(dir, 'Second', 2);
    await commit(dir, 'Third', 3);
    const head = (await git(dir, 'rev-parse', 'HEAD')).trim();
    const c = await describeChanges(join(dir, '.git'), head, 'https://x.example/o/r', 'QubesOS/qubes-issues');
    expect(c.previous).toBe(root);
    expect(c.shortlog).toEqual((await git(dir, 'log', '--pretty=format:o/r@%h %s', `${root}..HEAD`)).split('\n'));
  });
});
