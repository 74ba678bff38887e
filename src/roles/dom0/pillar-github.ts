import type { GithubReportJson } from '../../protocol/build/section.js';
import {
  DEFAULT_GITHUB_API_URL, DEFAULT_GITHUB_TOKEN_FILE, DEFAULT_ISSUES_REPO, DEFAULT_REPORT_RETRY,
  githubApiUrlProblem, githubRepoProblem, logsWebUrlProblem,
} from '../../protocol/github/report-rules.js';
import type { PillarReader } from './pillar-reader.js';
import { qubePathProblem } from './pillar-rules.js';

/** The pillar's top-level keys this module reads: upstream's two repositories and qbuild's own `github-report`. */
export const GITHUB_TOP_KEYS = ['build_report_repo', 'build_issues_repo', 'github-report'] as const;
const REPORT_KEYS = ['api-url', 'token-file', 'logs-url'] as const;

function problem(r: PillarReader, path: string, why: string | null): void {
  if (why) r.fail(path, why);
}

/**
 * Reporting to GitHub (docs/pillar.md, docs/reports.md): on when upstream's
 * `build_report_repo` (the status repository, `OWNER/NAME`) is set, off otherwise.
 * `build_issues_repo` (default QubesOS/qubes-issues) names the tracker commits reference.
 * `github-report` (qbuild's, optional): `api-url` (https, default api.github.com), `token-file`
 * (a path inside the build qubes, default /rw/config/qbuild/github-token: the token never
 * passes through dom0) and `logs-url` (the logs repository's web URL the stored path is
 * appended to; absent: no log links). `github-report` or `build_issues_repo` without
 * `build_report_repo` is refused: it would configure nothing.
 */
export function parseGithubReport(r: PillarReader, P: string, bi: Record<string, unknown>): GithubReportJson | undefined {
  const statusRepo = r.optStr(`${P}:build_report_repo`, bi.build_report_repo);
  if (statusRepo === undefined) {
    for (const k of ['github-report', 'build_issues_repo']) if (bi[k] !== undefined) r.fail(`${P}:${k}`, 'set without build_report_repo (which turns reporting on)');
    return undefined;
  }
  problem(r, `${P}:build_report_repo`, githubRepoProblem(statusRepo));
  const issuesRepo = r.optStr(`${P}:build_issues_repo`, bi.build_issues_repo) ?? DEFAULT_ISSUES_REPO;
  problem(r, `${P}:build_issues_repo`, githubRepoProblem(issuesRepo));
  const path = `${P}:github-report`;
  const g = bi['github-report'] === undefined ? {} : r.map(path, bi['github-report'], REPORT_KEYS);
  const apiUrl = r.optStr(`${path}:api-url`, g['api-url']) ?? DEFAULT_GITHUB_API_URL;
  problem(r, `${path}:api-url`, githubApiUrlProblem(apiUrl));
  const tokenFile = r.optStr(`${path}:token-file`, g['token-file']) ?? DEFAULT_GITHUB_TOKEN_FILE;
  problem(r, `${path}:token-file`, qubePathProblem(tokenFile));
  const logsUrl = r.optStr(`${path}:logs-url`, g['logs-url']) ?? null;
  if (logsUrl !== null) problem(r, `${path}:logs-url`, logsWebUrlProblem(logsUrl));
  return {
    apiUrl, tokenFile, statusRepo, issuesRepo, logsUrl,
    retryBaseMs: DEFAULT_REPORT_RETRY.baseMs, retryMaxMs: DEFAULT_REPORT_RETRY.maxMs,
  };
}
