import { oneLine } from '../../../errors.js';
import type { BuildConfig, Dist } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import {
  announceStateName, readAnnounced, readPending, removePending, writeAnnounced, writePending, type UploadRepository,
} from './announce-state.js';
import type { AnnouncedRepository } from './events.js';
import { commitMessages } from './git-range.js';
import { referencedIssues } from './issue-refs.js';
import { queueReport } from './queue.js';

/** One dist's upload, as the announcement rules need it. */
export interface AnnouncedUpload {
  component: string;
  version: string;
  dist: Dist;
  commit: string;
  /** The component's source URL (pillar `url`); its web form makes the compare link. */
  url: string;
}

/** The component's web URL: its source URL without `.git` (as changes.ts). */
export function webUrl(url: string): string {
  return url.replace(/\.git$/, '').replace(/\/+$/, '');
}

/**
 * Upstream's notify_issues.py `run` on `upload` / `uploaded`, for the build pipeline's upload
 * to current-testing (the component's git directory `gitDir` is still there). Rules, per dist:
 * - the state file `<release>-<component>-<set>-<dist>-current-testing` holds the commit last
 *   uploaded there; none: no announcement, the file is initialised with this commit;
 * - otherwise every issue of `build_issues_repo` that a commit in `<previous>..<commit>` says it
 *   fixes (issue-refs.ts) gets an `announce` report, then the file gets this commit;
 * - for a later Upload-component to current, the issues of `<current's commit>..<commit>` are
 *   worked out now and kept (the git directory is gone by then); current has no commit yet:
 *   nothing kept, the promotion will initialise it.
 * Never throws and never fails the build: a problem costs one line and that announcement.
 * With reporting off (no `github` config) nothing is recorded or queued.
 */
export async function announceTestingUpload(config: BuildConfig, paths: BuildPaths, up: AnnouncedUpload, gitDir: string, say: (line: string) => void): Promise<void> {
  const issuesRepo = config.github?.issuesRepo;
  if (!issuesRepo) return;
  const what = `announcement of ${up.component} ${up.version} for ${up.dist.name}`;
  try {
    const issuesIn = async (previous: string) => referencedIssues(await commitMessages(gitDir, previous, up.commit), issuesRepo);
    const testing = announceStateName(config.release, up.component, up.dist, 'current-testing');
    const previous = readAnnounced(paths, testing);
    if (previous === undefined) say(`report: ${what} in current-testing: first upload there, none (state initialised)`);
    else {
      try {
        queueAnnouncements(config, paths, up, 'current-testing', previous, await issuesIn(previous));
      } catch (e) {
        say(`report: ${what} in current-testing: not made: ${oneLine(e)}`);
      }
    }
    writeAnnounced(paths, testing, up.commit);

    const stable = announceStateName(config.release, up.component, up.dist, 'current');
    const inCurrent = readAnnounced(paths, stable);
    if (inCurrent === undefined) removePending(paths, stable);
    else writePending(paths, stable, { previous: inCurrent, commit: up.commit, gitUrl: webUrl(up.url), issues: await issuesIn(inCurrent) });
  } catch (e) {
    say(`report: ${what}: ${oneLine(e)}`);
  }
}

/**
 * The same rules for Upload-component's promotion to `repository`: current announces the
 * issues worked out when this commit went to current-testing, if they were worked out from
 * the commit current holds now (else: one line, no announcement); security-testing announces
 * nothing (as upstream); either way the state file then gets this commit. Never throws.
 */
export function announcePromotion(config: BuildConfig, paths: BuildPaths, up: AnnouncedUpload, repository: Exclude<UploadRepository, 'current-testing'>, say: (line: string) => void): void {
  if (!config.github) return;
  const what = `announcement of ${up.component} ${up.version} for ${up.dist.name} in ${repository}`;
  try {
    const name = announceStateName(config.release, up.component, up.dist, repository);
    const previous = readAnnounced(paths, name);
    if (repository === 'current' && previous !== undefined) {
      const pending = readPending(paths, name);
      if (pending && pending.commit === up.commit && pending.previous === previous) queueAnnouncements(config, paths, { ...up, url: pending.gitUrl }, repository, previous, pending.issues);
      else say(`report: ${what}: none: the referenced issues of ${previous.slice(0, 12)}..${up.commit.slice(0, 12)} were not worked out when it was built`);
    } else if (previous === undefined) say(`report: ${what}: first upload there, none (state initialised)`);
    writeAnnounced(paths, name, up.commit);
  } catch (e) {
    say(`report: ${what}: ${oneLine(e)}`);
  }
}

function queueAnnouncements(config: BuildConfig, paths: BuildPaths, up: AnnouncedUpload, repository: AnnouncedRepository, previous: string, issues: number[]): void {
  for (const issue of issues) {
    queueReport(paths, {
      kind: 'announce', component: up.component, version: up.version, release: config.release, dist: up.dist.name,
      repository, issue, previous, commit: up.commit, gitUrl: webUrl(up.url),
    });
  }
}
