import type { AnnounceEvent, IssueChanges, StatusEvent } from './events.js';

/**
 * What one report does on GitHub, in upstream's shapes (qubes-builderv2-github
 * githubbuilder/notify_issues.py `run`, `get_labels`, `search_or_create_issue` and
 * templates/message-build-report). Pure: an event in, the issue title, the body for a new
 * issue, the comment (if any) and the label changes out.
 */

export interface MessageSettings {
  /** Web URL prefix the stored log path is appended to (`https://github.com/OWNER/build-logs/blob/main`); none: no links. */
  logsUrl?: string;
  /** Days before Upload-component to current is accepted (upstream min-age-days, default 5). */
  minAgeDays: number;
  /** The env's dists, for the issue body's example of a subset. */
  dists: string[];
}

export interface ReportPlan {
  /** `<component> v<version> (<release>)`: how upstream names the status issue. */
  title: string;
  /** Body for the status issue when it does not exist yet. */
  issueBody: string;
  /** The comment, without the delivery marker; undefined: none (upstream: none while building). */
  comment?: string;
  addLabels: string[];
  removeLabels: string[];
}

/** Upstream's last ~30 lines of a failed stage's log (action.py on_error_lines_to_report) and its 3500-character cap. */
export const TAIL_LINES = 30;
const MAX_TAIL_CHARS = 3500;

/** The version as upstream's title shows it: the `v*` tag, which `git describe --match 'v*'` prints. */
export function versionTag(version: string): string {
  return `v${version}`;
}

export function issueTitle(e: StatusEvent | AnnounceEvent): string {
  return `${e.component} ${versionTag(e.version)} (${e.release})`;
}

/** Upstream's dist label: `host` for dom0 packages, else the distribution (`vm-fc42` → `fc42`). */
export function distLabel(dist: string): string {
  return dist.startsWith('host-') ? 'host' : dist.replace(/^vm-/, '');
}

/** Upstream reports `current` as `stable` (notify_issues.py run: repository_type). */
function repositoryType(repo: 'current-testing' | 'current' | 'security-testing'): string {
  return repo === 'current' ? 'stable' : repo;
}

/** A Markdown link to the stored log `path` under `logsUrl`; undefined without either. */
export function logLink(s: MessageSettings, path: string, text: string): string | undefined {
  if (!s.logsUrl || !path) return undefined;
  // encodeURI keeps `/` and `:` (upstream puts the path in as it is); parentheses would end the Markdown link.
  return `[${text}](${s.logsUrl.replace(/\/+$/, '')}/${encodeURI(path).replace(/\(/g, '%28').replace(/\)/g, '%29')})`;
}

/** A fence longer than any backtick run in `text`, so log lines cannot close the code block. */
function fence(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Upstream's format_additional_info for a failure's tail: `<details>` with the last lines, capped. */
export function tailBlock(tail: readonly string[]): string {
  let t = [`Last ${TAIL_LINES} log lines:`, ...tail.slice(-TAIL_LINES)].join('\n').replace(/^\n+|\n+$/g, '');
  if (t.length > MAX_TAIL_CHARS) t = `…\n${t.slice(-MAX_TAIL_CHARS)}`;
  const f = fence(t);
  return [`**Log tail (last ~${TAIL_LINES} lines):**`, '<details>', '', `${f}text`, t, f, '</details>'].join('\n');
}

export interface LabelChanges { addLabels: string[]; removeLabels: string[] }

/**
 * Upstream's labels of an upload (get_labels, `uploaded`), for the status comment and the
 * announcements on referenced issues alike: `<p>-cur-test` or `<p>-sec-test` added; current
 * (upstream's "stable") adds `<p>-stable` and `<release>-stable` and also removes the testing
 * ones; `<p>-failed` and `<p>-building` always go. `<p>` is `<release>-<dist label>`.
 */
export function uploadLabels(release: string, dist: string, repository: 'current-testing' | 'current' | 'security-testing'): LabelChanges {
  const p = `${release}-${distLabel(dist)}`;
  const removeLabels = [`${p}-failed`, `${p}-building`];
  if (repository === 'current') return { addLabels: [`${p}-stable`, `${release}-stable`], removeLabels: [...removeLabels, `${p}-cur-test`, `${p}-sec-test`] };
  return { addLabels: [repository === 'current-testing' ? `${p}-cur-test` : `${p}-sec-test`], removeLabels };
}

/** Upstream's labels per status (notify_issues.py get_labels); the dist-prefixed ones are `<release>-<dist label>-…`. */
function labels(e: StatusEvent): LabelChanges {
  const p = `${e.release}-${distLabel(e.dist)}`;
  switch (e.kind) {
    case 'build-started': return { addLabels: [`${p}-building`], removeLabels: [`${p}-failed`] };
    case 'built': return { addLabels: [], removeLabels: [`${p}-failed`, `${p}-building`] };
    case 'build-failed': return { addLabels: [`${p}-failed`], removeLabels: [`${p}-building`] };
    // Upstream changes no label when an upload fails (get_labels has no case for it).
    case 'upload-failed': return { addLabels: [], removeLabels: [] };
    case 'uploaded': return uploadLabels(e.release, e.dist, e.repository);
  }
}

/** Upstream's comment per status (notify_issues.py run: report_message); `(…)` is its additional_info. */
function comment(e: StatusEvent, s: MessageSettings): string | undefined {
  const base = `Package for ${distLabel(e.dist)}`;
  switch (e.kind) {
    case 'build-started': return undefined;
    case 'built': return stepComment(base, 'built', logLink(s, e.logPath, 'build log'));
    case 'build-failed': return stepComment(base, 'build-failed', logLink(s, e.logPath, 'build log'), e.tail);
    case 'upload-failed': return stepComment(base, 'upload-failed', logLink(s, e.logPath, 'upload log'), e.tail, `${repositoryType(e.repository)} repository`);
    case 'uploaded': return stepComment(base, 'uploaded', logLink(s, e.logPath, 'upload log'), [], `${repositoryType(e.repository)} repository`);
  }
}

/**
 * Upstream's report_message for one step of `base` (`Package for fc42`, `Template NAME`, `ISO
 * for R`), uploads naming `where` (`current repository`): the log link in upstream's
 * `(additional info)` form, and a failure's log tail after a colon.
 */
export function stepComment(base: string, step: 'built' | 'build-failed' | 'uploaded' | 'upload-failed', link: string | undefined, tail: readonly string[] = [], where = ''): string {
  const head = { built: `${base} was built`, 'build-failed': `${base} failed to build`, uploaded: `${base} was uploaded to ${where}`, 'upload-failed': `${base} failed to upload to ${where}` }[step];
  const linked = link ? `${head} (${link})` : head;
  return tail.length ? `${linked}:\n\n${tailBlock(tail)}` : `${linked}.`;
}

/**
 * The status issue's body: upstream's message-build-report with its @…@ values filled in
 * (the `Upload-component` lines ready to sign), runs of blank lines folded as upstream does.
 * Without `changes` (an event other than build-started opened the issue) the commit-specific
 * parts are left out.
 */
export function issueBody(e: StatusEvent, s: MessageSettings, changes?: IssueChanges): string {
  const rel = e.release;
  const tag = versionTag(e.version);
  const lines = [`Update of ${e.component} to ${tag} for Qubes OS ${rel}, see comments below for details and build status.`, ''];
  const commit = e.kind === 'build-started' ? e.commit : undefined;
  if (commit && changes) {
    const compare = `${changes.gitUrl}/compare/${changes.previous || tag}...${tag}`;
    lines.push(`From commit: ${changes.gitUrl}/commit/${commit}`, '', `[Changes since previous version](${compare}):`, ...changes.shortlog, '',
      'Referenced issues:', ...changes.issues, '');
  }
  if (commit) {
    const subset = s.dists.length > 1 ? s.dists.slice(0, 2).join(',') : (s.dists[0] ?? e.dist);
    const cmd = `Upload-component ${rel} ${e.component} ${commit}`;
    lines.push(
      'If you\'re release manager, you can issue GPG-inline signed command:', '',
      `* \`${cmd} current all\` (available ${s.minAgeDays} days from now)`,
      `* \`${cmd} security-testing all\``, '',
      'You can choose subset of distributions like:',
      `* \`${cmd} current ${subset}\` (available ${s.minAgeDays} days from now)`, '',
      'Above commands will work only if packages in current-testing repository were built from given commit (i.e. no new version superseded it).', '',
    );
  }
  lines.push('For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

export function planReport(e: StatusEvent, s: MessageSettings): ReportPlan {
  const c = comment(e, s);
  return {
    title: issueTitle(e),
    issueBody: issueBody(e, s, e.kind === 'build-started' ? e.changes : undefined),
    ...(c !== undefined ? { comment: c } : {}),
    ...labels(e),
  };
}
