/** `.`, `-` and the like in a repository name, matched as themselves. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** GitHub's issue numbers are positive 32-bit integers; a longer digit run names no issue. */
const MAX_ISSUE = 2 ** 31 - 1;

/**
 * The issues of `issuesRepo` (pillar `build_issues_repo`, `OWNER/NAME`) that commit messages
 * say they fix, as upstream's notify_closed_issues reads `git log` (its `fixes_re`), once each,
 * in order of first mention. Rules:
 * - a reference is `fixes` or `closes` (any case, a word of its own), one space, then
 *   `<issuesRepo>#N` or `https://github.com/<issuesRepo>/issues/N`, the repository in any case
 *   (GitHub's names are case-insensitive);
 * - only `issuesRepo` counts: upstream takes a URL naming any repository as an issue of
 *   qubes-issues, which would announce on an unrelated issue;
 * - a bare mention (`QubesOS/qubes-issues#7`, `see #7`, `refs …`) announces nothing, as upstream;
 * - every reference on a line counts (upstream's `search` keeps the first one per line);
 * - N is a positive number below 2^31 (anything else names no issue).
 */
export function referencedIssues(messages: string, issuesRepo: string): number[] {
  const repo = literal(issuesRepo);
  const re = new RegExp(`\\b(?:fixes|closes) (?:${repo}#|https://github\\.com/${repo}/issues/)([0-9]+)`, 'gi');
  const found = new Set<number>();
  for (const line of messages.split('\n')) {
    for (const m of line.matchAll(re)) {
      const n = Number(m[1]);
      if (n >= 1 && n <= MAX_ISSUE) found.add(n);
    }
  }
  return [...found];
}
