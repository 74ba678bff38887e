import * as fs from 'node:fs';
import { QbuildError } from '../../../errors.js';

type Git = typeof import('isomorphic-git');

/** A range longer than this is refused rather than read: an announcement is not worth an unbounded walk. */
const MAX_COMMITS = 20_000;

/**
 * The full messages of the commits in `previous..current` (what `git log previous..current`
 * shows): reachable from `current` and not from `previous`, every parent followed (merges
 * too), newest first as far as a walk gives it, joined by newlines. `previous` is allowed to
 * be no ancestor (a force-push): then everything of `current` not reachable from it counts,
 * as for git. Errors: QbuildError('io') when a commit is missing from `gitdir` (upstream's
 * `git log` fails the same way and announces nothing) or the range exceeds MAX_COMMITS.
 */
export async function commitMessages(gitdir: string, previous: string, current: string): Promise<string> {
  const git = (await import('isomorphic-git')).default as unknown as Git;
  const read = async (oid: string) => {
    try {
      return (await git.readCommit({ fs, gitdir, oid })).commit;
    } catch {
      throw new QbuildError('io', `commit ${oid} is not in ${gitdir}`);
    }
  };
  const walk = async (from: string, stop: Set<string>, visit: (message: string) => void): Promise<Set<string>> => {
    const seen = new Set<string>();
    const todo = [from];
    while (todo.length) {
      const oid = todo.shift()!;
      if (seen.has(oid) || stop.has(oid)) continue;
      seen.add(oid);
      if (seen.size > MAX_COMMITS) throw new QbuildError('io', `more than ${MAX_COMMITS} commits to read from ${from}`);
      const c = await read(oid);
      visit(c.message);
      todo.push(...c.parent);
    }
    return seen;
  };
  const hidden = await walk(previous, new Set(), () => {});
  const messages: string[] = [];
  await walk(current, hidden, (m) => messages.push(m));
  return messages.join('\n');
}
