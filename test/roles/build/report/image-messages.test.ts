import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../../src/protocol/github/command/grammar.js';
import type { ImageEvent, ImageRef } from '../../../../src/roles/build/report/events.js';
import { issueKey } from '../../../../src/roles/build/report/events.js';
import { imageBody, planImageReport } from '../../../../src/roles/build/report/image-messages.js';
import { parseQueued } from '../../../../src/roles/build/report/queue.js';

// Upstream's shapes for templates and ISOs: qubes-builderv2-github notify_issues.py (run,
// get_labels, search_or_create_issue for `qubes-template-…` / `iso-…` package names) and
// templates/message-build-report-template / -iso.
const S = { logsUrl: 'https://github.com/QubesOS/build-logs/blob/main', minAgeDays: 5, dists: ['vm-fc42'] };
const T: ImageRef = { image: 'template', name: 'fedora-42-xfce', version: '4.3.0-202612020100', release: 'r4.3' };
const I: ImageRef = { image: 'iso', name: 'iso', version: '4.3.1', release: 'r4.3' };
const log = 'build-fedora/images/log_2026-12-02T01:02:03Z_ab12';
const link = (text: string) => `[${text}](${S.logsUrl}/${log})`;
const tail = Array.from({ length: 3 }, (_, i) => `line ${i + 1}`);
const TAIL = ['**Log tail (last ~30 lines):**', '<details>', '', '```text', 'Last 30 log lines:', ...tail, '```', '</details>'].join('\n');

const TEMPLATE_BODY = `Template fedora-42-xfce 4.3.0-202612020100 for Qubes OS r4.3, see comments below for details and build status.

If you're release manager, you can issue GPG-inline signed command (depending on template):

* \`Upload-template r4.3 fedora-42-xfce 4.3.0-202612020100 templates-itl\` (available 5 days from now)
* \`Upload-template r4.3 fedora-42-xfce 4.3.0-202612020100 templates-community\` (available 5 days from now)

Above commands will work only if package in testing repository isn't superseded by newer version.

For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.
`;
const ISO_BODY = `ISO 4.3.1 for Qubes OS r4.3, see comments below for details and build status.

For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.
`;

const MIRROR = '/work/.mirror/QubesOS+qubes-builderv2-github/repo';
/** Upstream's file filled in as search_or_create_issue does; undefined without the mirror. */
function upstream(file: string, values: Record<string, string>): string | undefined {
  if (!existsSync(MIRROR)) return undefined;
  let text = execFileSync('git', ['-C', MIRROR, 'show', `HEAD:templates/${file}`], { encoding: 'utf8' });
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(k, v);
  return text.replace(/\n{3,}/g, '\n\n');
}

const plan = (e: ImageEvent) => planImageReport(e, S);

describe('template reports in upstream shapes', () => {
  it('the status issue: `qubes-template-NAME V-TS (R)`, upstream\'s message-build-report-template filled in', () => {
    const p = plan({ kind: 'image-building', ...T });
    expect(p.title).toBe('qubes-template-fedora-42-xfce 4.3.0-202612020100 (r4.3)');
    expect(p.issueBody).toBe(TEMPLATE_BODY);
    const up = upstream('message-build-report-template', {
      '@COMPONENT@': 'qubes-template-fedora-42-xfce', '@RELEASE_NAME@': 'r4.3', '@VERSION@': '4.3.0-202612020100', '@MIN_AGE_DAYS@': '5', '@TEMPLATE_NAME@': 'fedora-42-xfce',
    });
    if (up !== undefined) expect(p.issueBody).toBe(up);
  });

  it('the body\'s Upload-template lines are commands qbuild\'s grammar takes, for exactly that version', () => {
    const lines = [...imageBody({ kind: 'image-built', ...T, logPath: log }, S).matchAll(/`(Upload-template [^`]+)`/g)].map((m) => m[1]!);
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => parseCommandLine(l))).toEqual(['templates-itl', 'templates-community'].map((repository) => ({
      kind: 'upload-template', release: 'r4.3', template: 'fedora-42-xfce', version: '4.3.0', timestamp: '202612020100', repository,
    })));
  });

  it('building: no comment, +r4.3-building −r4.3-failed (the release alone is the prefix)', () => {
    const p = plan({ kind: 'image-building', ...T });
    expect(p.comment).toBeUndefined();
    expect([p.addLabels, p.removeLabels]).toEqual([['r4.3-building'], ['r4.3-failed']]);
  });

  it('built: "Template NAME was built ([build log](URL))." −failed −building', () => {
    const p = plan({ kind: 'image-built', ...T, logPath: log });
    expect(p.comment).toBe(`Template fedora-42-xfce was built (${link('build log')}).`);
    expect([p.addLabels, p.removeLabels]).toEqual([[], ['r4.3-failed', 'r4.3-building']]);
    expect(planImageReport({ kind: 'image-built', ...T, logPath: log }, { ...S, logsUrl: undefined }).comment).toBe('Template fedora-42-xfce was built.');
  });

  it('failed: the link and the log tail, +failed −building', () => {
    const p = plan({ kind: 'image-build-failed', ...T, logPath: log, tail });
    expect(p.comment).toBe(`Template fedora-42-xfce failed to build (${link('build log')}):\n\n${TAIL}`);
    expect([p.addLabels, p.removeLabels]).toEqual([['r4.3-failed'], ['r4.3-building']]);
    expect(plan({ kind: 'image-build-failed', ...T, logPath: log, tail: [] }).comment).toBe(`Template fedora-42-xfce failed to build (${link('build log')}).`);
  });

  it('uploaded, by repository: templates-itl and templates-community stable, the testing ones testing', () => {
    const up = (repository: Extract<ImageEvent, { kind: 'image-uploaded' }>['repository']) => plan({ kind: 'image-uploaded', ...T, repository, logPath: log });
    expect(up('templates-itl').comment).toBe(`Template fedora-42-xfce was uploaded to templates-itl repository (${link('upload log')}).`);
    expect(up('templates-community').comment).toBe(`Template fedora-42-xfce was uploaded to templates-community repository (${link('upload log')}).`);
    const labels = (r: Parameters<typeof up>[0]) => [up(r).addLabels, up(r).removeLabels];
    expect(labels('templates-itl')).toEqual([['r4.3-stable'], ['r4.3-failed', 'r4.3-building', 'r4.3-testing']]);
    expect(labels('templates-community')).toEqual([['r4.3-stable'], ['r4.3-failed', 'r4.3-building', 'r4.3-testing', 'iso']]);
    for (const r of ['templates-itl-testing', 'templates-community-testing', 'iso-testing'] as const) {
      expect(labels(r)).toEqual([['r4.3-testing'], ['r4.3-failed', 'r4.3-building']]);
    }
  });

  it('failed to upload: "… failed to upload to templates-itl repository (…):" and the tail; no label changes', () => {
    const p = plan({ kind: 'image-upload-failed', ...T, repository: 'templates-itl', logPath: log, tail });
    expect(p.comment).toBe(`Template fedora-42-xfce failed to upload to templates-itl repository (${link('upload log')}):\n\n${TAIL}`);
    expect([p.addLabels, p.removeLabels]).toEqual([[], []]);
  });
});

describe('ISO reports in upstream shapes', () => {
  it('the status issue: `iso V (R)`, upstream\'s message-build-report-iso filled in', () => {
    const p = plan({ kind: 'image-building', ...I });
    expect(p.title).toBe('iso 4.3.1 (r4.3)');
    expect(p.issueBody).toBe(ISO_BODY);
    const up = upstream('message-build-report-iso', { '@COMPONENT@': 'iso', '@RELEASE_NAME@': 'r4.3', '@VERSION@': '4.3.1', '@MIN_AGE_DAYS@': '5', '@ISO_VERSION@': '4.3.1' });
    if (up !== undefined) expect(p.issueBody).toBe(up);
  });

  it('each status: comment and labels', () => {
    const b = plan({ kind: 'image-building', ...I });
    expect([b.comment, b.addLabels, b.removeLabels]).toEqual([undefined, ['r4.3-building'], ['r4.3-failed']]);
    const built = plan({ kind: 'image-built', ...I, logPath: log });
    expect([built.comment, built.addLabels, built.removeLabels]).toEqual([`ISO for r4.3 was built (${link('build log')}).`, [], ['r4.3-failed', 'r4.3-building']]);
    const failed = plan({ kind: 'image-build-failed', ...I, logPath: log, tail });
    expect([failed.comment, failed.addLabels, failed.removeLabels]).toEqual([`ISO for r4.3 failed to build (${link('build log')}):\n\n${TAIL}`, ['r4.3-failed'], ['r4.3-building']]);
    const up = plan({ kind: 'image-uploaded', ...I, repository: 'iso-testing', logPath: log });
    expect([up.comment, up.addLabels, up.removeLabels]).toEqual([`ISO for r4.3 was uploaded to testing repository (${link('upload log')}).`, ['r4.3-testing'], ['r4.3-failed', 'r4.3-building']]);
    expect(planImageReport({ kind: 'image-uploaded', ...I, repository: 'iso-testing', logPath: log }, { ...S, logsUrl: undefined }).comment).toBe('ISO for r4.3 was uploaded to testing repository.');
    const upFailed = plan({ kind: 'image-upload-failed', ...I, repository: 'iso-testing', logPath: log, tail: [] });
    expect([upFailed.comment, upFailed.addLabels, upFailed.removeLabels]).toEqual([`ISO for r4.3 failed to upload to testing repository (${link('upload log')}).`, [], []]);
  });
});

describe('image events in the queue', () => {
  it('one issue key per template version and ISO version, distinct from any component\'s', () => {
    expect(issueKey({ kind: 'image-building', ...T })).toBe(issueKey({ kind: 'image-uploaded', ...T, repository: 'templates-itl', logPath: '' }));
    expect(issueKey({ kind: 'image-building', ...I })).not.toBe(issueKey({ kind: 'built', component: 'iso', version: '4.3.1', release: 'r4.3', dist: 'vm-fc42', logPath: '' }));
  });

  it('round-trips through a queue file; unknown images and repositories are refused', () => {
    const events: ImageEvent[] = [
      { kind: 'image-building', ...T }, { kind: 'image-built', ...T, logPath: log }, { kind: 'image-build-failed', ...I, logPath: '', tail },
      { kind: 'image-uploaded', ...T, repository: 'templates-community', logPath: log }, { kind: 'image-upload-failed', ...I, repository: 'iso-testing', logPath: log, tail },
    ];
    for (const event of events) {
      const q = { id: 'x1', queuedAt: '2026-12-02T00:00:00.000Z', event };
      expect(parseQueued(JSON.stringify(q), 'x1')).toEqual(q);
    }
    const bad = (event: Record<string, unknown>) => () => parseQueued(JSON.stringify({ id: 'x1', queuedAt: 'now', event }), 'x1');
    expect(bad({ kind: 'image-built', ...T, image: 'vm', logPath: log })).toThrow(/unknown image vm/);
    expect(bad({ kind: 'image-uploaded', ...T, repository: 'current', logPath: log })).toThrow(/unknown image repository current/);
    expect(bad({ kind: 'image-built', ...I, name: 'x', logPath: log })).toThrow(/name is not iso/);
  });
});
