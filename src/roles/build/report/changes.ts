import * as fs from 'node:fs';
import type { IssueChanges } from './events.js';

type Git = typeof import('isomorphic-git');

/** The shortlog is cut here: a first release of a long history would otherwise list it all. */
const MAX_COMMITS = 200;

/** `owner/repo` as upstream's shortlog prefixes commits with: the source URL's last two path parts, without `.git`. */
function repoName(gitUrl: string): string {
  try {
    return new URL(gitUrl).pathname.split('/').filter(Boolean).slice(-2).join('/');
  } catch {
    return gitUrl;
  }
}

/**
 * The changes since the previous version for the status issue's body, as upstream's
 * get_package_changes finds them with git: the previous version is the nearest `v*` tag on a
 * commit before `commit` (or, without one, the root commit), the shortlog is
 * `owner/repo@abbrev subject` per commit after it, newest first, and referenced issues are
 * `<issues repo>#N` or `<issues repo>/issues/N` mentions (any case) in those commits' messages.
 */
export async function describeChanges(gitdir: string, commit: string, url: string, issuesRepo: string): Promise<IssueChanges> {
  const git = (await import('isomorphic-git')).default as unknown as Git;
  const gitUrl = url.replace(/\.git$/, '').replace(/\/+$/, '');
  const tagged = new Map<string, string>();
  for (const name of (await git.listTags({ fs, gitdir })).sort()) {
    if (!name.startsWith('v')) continue;
    try {
      const oid = await git.resolveRef({ fs, gitdir, ref: `refs/tags/${name}` });
      const obj = await git.readObject({ fs, gitdir, oid });
      const target = obj.type === 'tag' ? (obj.object as { object: string }).object : oid;
      if (!tagged.has(target)) tagged.set(target, name);
    } catch { /* a tag we cannot read names no previous version */ }
  }
  const log = await git.log({ fs, gitdir, ref: commit, depth: MAX_COMMITS + 1 });
  const name = repoName(gitUrl);
  const shortlog: string[] = [];
  const issues = new Set<string>();
  const issueRe = new RegExp(`${issuesRepo.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:#|/issues/)([0-9]+)`, 'gi');
  let previous = '';
  for (const [i, c] of log.entries()) {
    if (i > 0 && tagged.has(c.oid)) {
      previous = tagged.get(c.oid)!;
      break;
    }
    if (i === log.length - 1 && i > 0 && c.commit.parent.length === 0) {
      previous = c.oid; // upstream: no earlier tag, so from the root commit
      break;
    }
    if (shortlog.length >= MAX_COMMITS) break;
    shortlog.push(`${name}@${c.oid.slice(0, 7)} ${c.commit.message.split('\n')[0]}`);
    for (const m of c.commit.message.matchAll(issueRe)) issues.add(`${issuesRepo}#${m[1]}`);
  }
  if (log.length <= 1) return { gitUrl, previous: '', shortlog: [], issues: [] };
  return { gitUrl, previous, shortlog, issues: [...issues] };
}
