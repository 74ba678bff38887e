import { describe, expect, it } from 'vitest';
import { referencedIssues } from '../../../../src/roles/build/report/issue-refs.js';

const REPO = 'QubesOS/qubes-issues';

describe('referenced issues (upstream fixes_re, this pillar\'s build_issues_repo only)', () => {
  it('upstream\'s cases: Fixes OWNER/NAME#N, closes https://github.com/OWNER/NAME/issues/N, any case', () => {
    expect(referencedIssues('Fixes QubesOS/qubes-issues#123', REPO)).toEqual([123]);
    expect(referencedIssues('closes https://github.com/QubesOS/qubes-issues/issues/45', REPO)).toEqual([45]);
    expect(referencedIssues('FIXES qubesos/Qubes-Issues#9\nCloses HTTPS://GITHUB.COM/QubesOS/qubes-issues/issues/10', REPO)).toEqual([9, 10]);
  });

  it('several per log, each once, in order of first mention; every reference on a line', () => {
    const log = ['Fix the frobnicator', '', 'Fixes QubesOS/qubes-issues#7', 'Fixes QubesOS/qubes-issues#8, closes QubesOS/qubes-issues#9',
      'Merge branch x', '    fixes QubesOS/qubes-issues#7'].join('\n');
    expect(referencedIssues(log, REPO)).toEqual([7, 8, 9]);
  });

  it('a reference to another repository is ignored (upstream would take a URL of any repository as a qubes-issues number)', () => {
    expect(referencedIssues('Fixes QubesOS/qubes-core-admin#5', REPO)).toEqual([]);
    expect(referencedIssues('Fixes https://github.com/QubesOS/qubes-core-admin/issues/5', REPO)).toEqual([]);
    expect(referencedIssues('Fixes https://github.com/QubesOS/qubes-issues-old/issues/5', REPO)).toEqual([]);
    expect(referencedIssues('Fixes https://github.com/QubesOS/qubes-issues/pull/5', REPO)).toEqual([]);
    expect(referencedIssues('Fixes QubesOS/qubes-issues#5', 'example/tracker')).toEqual([]);
    expect(referencedIssues('Fixes example/tracker#5', 'example/tracker')).toEqual([5]);
  });

  it('a mention without fixes/closes is ignored, as upstream; so is a word ending in "fixes" and a number that is no issue', () => {
    expect(referencedIssues('QubesOS/qubes-issues#7', REPO)).toEqual([]);
    expect(referencedIssues('See QubesOS/qubes-issues#7\nrefs QubesOS/qubes-issues#8\nfixes #9', REPO)).toEqual([]);
    expect(referencedIssues('prefixes QubesOS/qubes-issues#7', REPO)).toEqual([]);
    expect(referencedIssues('fixes  QubesOS/qubes-issues#7', REPO)).toEqual([]); // upstream: exactly one space
    expect(referencedIssues('fixes QubesOS/qubes-issues#0\nfixes QubesOS/qubes-issues#99999999999', REPO)).toEqual([]);
  });

  it('a dot in the repository name is itself, not any character', () => {
    expect(referencedIssues('Fixes o/a.b#3\nFixes o/axb#4', 'o/a.b')).toEqual([3]);
  });
});
