import { describe, expect, it } from 'vitest';
import { distLabel, issueBody, planReport, tailBlock } from '../../../../src/roles/build/report/messages.js';
import type { ReportEvent } from '../../../../src/roles/build/report/events.js';

// Upstream's shapes: qubes-builderv2-github githubbuilder/notify_issues.py (run, get_labels,
// search_or_create_issue), action.py format_additional_info and templates/message-build-report.
const S = { logsUrl: 'https://github.com/QubesOS/build-logs/blob/main', minAgeDays: 5, dists: ['vm-fc42', 'vm-bookworm'] };
const at = { component: 'core-admin', version: '4.2.10', release: 'r4.2' };
const commit = 'a'.repeat(40);
const log = 'build-fedora/core-admin/log_2026-12-02T01:02:03Z_ab12';

describe('report messages in upstream notify_issues.py shapes', () => {
  it('names the status issue `<component> v<version> (<release>)` and labels by dist (host for dom0)', () => {
    expect(planReport({ kind: 'build-started', ...at, dist: 'vm-fc42', commit }, S).title).toBe('core-admin v4.2.10 (r4.2)');
    expect(distLabel('host-fc41')).toBe('host');
    expect(distLabel('vm-bookworm')).toBe('bookworm');
  });

  it('build started: no comment, adds -building and removes -failed', () => {
    const p = planReport({ kind: 'build-started', ...at, dist: 'host-fc41', commit }, S);
    expect(p.comment).toBeUndefined();
    expect(p.addLabels).toEqual(['r4.2-host-building']);
    expect(p.removeLabels).toEqual(['r4.2-host-failed']);
  });

  it('built: "Package for fc42 was built ([build log](URL))." and removes -failed, -building', () => {
    const p = planReport({ kind: 'built', ...at, dist: 'vm-fc42', logPath: log }, S);
    expect(p.comment).toBe(`Package for fc42 was built ([build log](${S.logsUrl}/${log})).`);
    expect(p.addLabels).toEqual([]);
    expect(p.removeLabels).toEqual(['r4.2-fc42-failed', 'r4.2-fc42-building']);
    expect(planReport({ kind: 'built', ...at, dist: 'vm-fc42', logPath: log }, { ...S, logsUrl: undefined }).comment).toBe('Package for fc42 was built.');
  });

  it('failed: the link, then the last 30 lines in <details>, -failed added, -building removed', () => {
    const tail = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
    const p = planReport({ kind: 'build-failed', ...at, dist: 'vm-bookworm', logPath: log, tail }, S);
    expect(p.comment).toBe([
      `Package for bookworm failed to build ([build log](${S.logsUrl}/${log})):`, '',
      '**Log tail (last ~30 lines):**', '<details>', '', '```text', 'Last 30 log lines:', ...tail.slice(10), '```', '</details>',
    ].join('\n'));
    expect(p.addLabels).toEqual(['r4.2-bookworm-failed']);
    expect(p.removeLabels).toEqual(['r4.2-bookworm-building']);
  });

  it('a tail with a code fence in it cannot close the block; a huge tail is capped at 3500 characters', () => {
    expect(tailBlock(['```', 'x'])).toContain('````text\nLast 30 log lines:\n```\nx\n````');
    const big = tailBlock(Array.from({ length: 30 }, () => 'y'.repeat(500)));
    expect(big).toContain('…\n');
    expect(big.length).toBeLessThan(3700);
  });

  it('uploaded: current-testing → -cur-test; security-testing → -sec-test; current is upstream\'s "stable" with its labels', () => {
    const up = (repository: 'current-testing' | 'current' | 'security-testing') => planReport({ kind: 'uploaded', ...at, dist: 'vm-fc42', repository, logPath: log }, S);
    expect(up('current-testing').comment).toBe(`Package for fc42 was uploaded to current-testing repository ([upload log](${S.logsUrl}/${log})).`);
    expect(up('current-testing').addLabels).toEqual(['r4.2-fc42-cur-test']);
    expect(up('current-testing').removeLabels).toEqual(['r4.2-fc42-failed', 'r4.2-fc42-building']);
    expect(up('security-testing').comment).toMatch(/^Package for fc42 was uploaded to security-testing repository /);
    expect(up('security-testing').addLabels).toEqual(['r4.2-fc42-sec-test']);
    expect(up('current').comment).toMatch(/^Package for fc42 was uploaded to stable repository /);
    expect(up('current').addLabels).toEqual(['r4.2-fc42-stable', 'r4.2-stable']);
    expect(up('current').removeLabels).toEqual(['r4.2-fc42-failed', 'r4.2-fc42-building', 'r4.2-fc42-cur-test', 'r4.2-fc42-sec-test']);
  });

  it('upload failed: "Package for fc42 failed to upload to current-testing repository" with the log and its tail; no label changes (as upstream)', () => {
    const p = planReport({ kind: 'upload-failed', ...at, dist: 'vm-fc42', repository: 'current-testing', logPath: log, tail: ['rsync: connection refused'] }, S);
    expect(p.comment).toBe([
      `Package for fc42 failed to upload to current-testing repository ([upload log](${S.logsUrl}/${log})):`, '',
      '**Log tail (last ~30 lines):**', '<details>', '', '```text', 'Last 30 log lines:', 'rsync: connection refused', '```', '</details>',
    ].join('\n'));
    expect(p.addLabels).toEqual([]);
    expect(p.removeLabels).toEqual([]);
  });

  it('the issue body is message-build-report: commit link, compare link, shortlog, issues, ready-to-sign Upload-component lines', () => {
    const e: ReportEvent = {
      kind: 'build-started', ...at, dist: 'vm-fc42', commit,
      changes: { gitUrl: 'https://github.com/QubesOS/qubes-core-admin', previous: 'v4.2.9', shortlog: ['QubesOS/qubes-core-admin@abcdef1 Fix it', 'QubesOS/qubes-core-admin@1234567 Add it'], issues: ['QubesOS/qubes-issues#1234'] },
    };
    expect(issueBody(e, S, e.changes)).toBe(`Update of core-admin to v4.2.10 for Qubes OS r4.2, see comments below for details and build status.

From commit: https://github.com/QubesOS/qubes-core-admin/commit/${commit}

[Changes since previous version](https://github.com/QubesOS/qubes-core-admin/compare/v4.2.9...v4.2.10):
QubesOS/qubes-core-admin@abcdef1 Fix it
QubesOS/qubes-core-admin@1234567 Add it

Referenced issues:
QubesOS/qubes-issues#1234

If you're release manager, you can issue GPG-inline signed command:

* \`Upload-component r4.2 core-admin ${commit} current all\` (available 5 days from now)
* \`Upload-component r4.2 core-admin ${commit} security-testing all\`

You can choose subset of distributions like:
* \`Upload-component r4.2 core-admin ${commit} current vm-fc42,vm-bookworm\` (available 5 days from now)

Above commands will work only if packages in current-testing repository were built from given commit (i.e. no new version superseded it).

For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.
`);
  });
});
