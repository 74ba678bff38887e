/**
 * The rules for reporting settings (docs/reports.md), shared by the pillar parser (dom0) and
 * the build VM's config parser: each returns the problem as text, or null. Pure.
 */

/** Upstream's defaults (qubes-builderv2-github action.py / notify_issues.py). */
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
export const DEFAULT_ISSUES_REPO = 'QubesOS/qubes-issues';
export const DEFAULT_GITHUB_TOKEN_FILE = '/rw/config/qbuild/github-token';
export const DEFAULT_REPORT_RETRY = { baseMs: 1000, maxMs: 300_000 } as const;

/**
 * A GitHub repository `owner/name`: owner 1-39 of `[A-Za-z0-9-]` not starting with `-`
 * (GitHub's login rule), name 1-100 of `[A-Za-z0-9._-]` other than `.` and `..`, one `/`.
 */
export function githubRepoProblem(repo: string): string | null {
  const m = /^([A-Za-z0-9][A-Za-z0-9-]{0,38})\/([A-Za-z0-9._-]{1,100})$/.exec(repo);
  if (!m || m[2] === '.' || m[2] === '..') return 'must be OWNER/NAME as GitHub spells it';
  return null;
}

/**
 * The REST API base URL: `https://` (GitHub or GitHub Enterprise `https://HOST/api/v3`), or
 * `http://` only to a loopback host (a local proxy or test stand-in: a token must not cross a
 * network in clear); no credentials, query or fragment.
 */
export function githubApiUrlProblem(url: string): string | null {
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  if (url.length > 2048) return 'longer than 2048 characters';
  if (u.username || u.password) return 'must not contain credentials (use token-file)';
  if (u.search || u.hash) return 'must not have a query or fragment';
  if (u.protocol === 'https:') return null;
  if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return null;
  return 'must be an https:// URL (http:// only to 127.0.0.1, localhost or [::1])';
}

/** The logs repository's web URL prefix a stored log path is appended to: http(s), no credentials, query or fragment. */
export function logsWebUrlProblem(url: string): string | null {
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  if (url.length > 2048 || !/^[\x21-\x7e]+$/.test(url)) return 'must be at most 2048 printable ASCII characters';
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
  if (u.username || u.password) return 'must not contain credentials';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return null;
}
