/**
 * What the build VM reports to GitHub (docs/reports.md). Each pipeline step that upstream's
 * notify_issues.py reports becomes one event; the reporter turns it into the status issue,
 * a comment and a label change. Plain values: the queue stores them as JSON.
 *   version  as the build records it, without the tag's `v` (`4.2.10`); the issue title adds it back
 *   dist     the full dist name (`vm-fc42`, `host-fc41`)
 *   logPath  the stored path the logs VM answered (`build-fedora/core-admin/log_...`)
 * `build-started` may carry the changes since the previous version (the status issue's body,
 * made when the first event of a version is delivered). `announce` is not about the status
 * issue: it is upstream's announcement on one issue of `build_issues_repo` that the version's
 * commits fix (announce.ts).
 */
export type ReportEvent = StatusEvent | AnnounceEvent | ImageEvent;

/** The events reported on the version's status issue in `build_report_repo`. */
export type StatusEvent =
  | { kind: 'build-started'; component: string; version: string; release: string; dist: string; commit: string; changes?: IssueChanges }
  | { kind: 'built'; component: string; version: string; release: string; dist: string; logPath: string }
  | { kind: 'build-failed'; component: string; version: string; release: string; dist: string; logPath: string; tail: string[] }
  | { kind: 'uploaded'; component: string; version: string; release: string; dist: string; repository: 'current-testing' | 'current' | 'security-testing'; logPath: string }
  | { kind: 'upload-failed'; component: string; version: string; release: string; dist: string; repository: 'current-testing' | 'current' | 'security-testing'; logPath: string; tail: string[] };

/**
 * Upstream's notify_closed_issues for one issue: the version went into `repository` for
 * `dist`, and a commit in `previous..commit` of the component says it fixes issue `issue` of
 * the issues repository. `gitUrl`: the component's web URL (its compare link).
 */
export interface AnnounceEvent {
  kind: 'announce'; component: string; version: string; release: string; dist: string;
  repository: AnnouncedRepository; issue: number; previous: string; commit: string; gitUrl: string;
}

/**
 * A template's or the ISO's step (Build-template, Upload-template, Build-iso), reported on its
 * own status issue as upstream's AutoActionTemplate / AutoActionISO do (image-messages.ts):
 *   image    `template` or `iso`
 *   name     the template's name (`fedora-42-xfce`); `iso` for the ISO
 *   version  the issue's version: a template's `<version>-<YYYYmmddHHMM>` (what Upload-template
 *            names), the ISO's `<iso version>` (Build-iso's)
 */
export type ImageEvent =
  | (ImageRef & { kind: 'image-building' })
  | (ImageRef & { kind: 'image-built'; logPath: string })
  | (ImageRef & { kind: 'image-build-failed'; logPath: string; tail: string[] })
  | (ImageRef & { kind: 'image-uploaded'; repository: ImageRepository; logPath: string })
  | (ImageRef & { kind: 'image-upload-failed'; repository: ImageRepository; logPath: string; tail: string[] });

export interface ImageRef { image: 'template' | 'iso'; name: string; version: string; release: string }

/** Upstream's repository types of images (notify_issues.py get_labels): Build-template uploads to templates-itl-testing or templates-community-testing, Upload-template to templates-itl or templates-community, Build-iso to iso-testing. */
export type ImageRepository = 'templates-itl' | 'templates-itl-testing' | 'templates-community' | 'templates-community-testing' | 'iso-testing';
export const IMAGE_REPOSITORIES: readonly ImageRepository[] = ['templates-itl', 'templates-itl-testing', 'templates-community', 'templates-community-testing', 'iso-testing'];

export function isImageEvent(e: ReportEvent): e is ImageEvent {
  return e.kind.startsWith('image-');
}

/** Upstream's component of an image's status issue: `qubes-template-<name>`, or `iso`. */
export function imageComponent(e: ImageRef): string {
  return e.image === 'iso' ? 'iso' : `qubes-template-${e.name}`;
}

/** The repositories upstream announces on referenced issues (security-testing: none). */
export type AnnouncedRepository = 'current-testing' | 'current';

/** What upstream's message-build-report body shows about a version (notify_issues.py get_package_changes). */
export interface IssueChanges {
  /** The component's web URL (its source URL without `.git`). */
  gitUrl: string;
  /** The previous `v*` tag (or root commit) the shortlog starts after; '' when there is no history. */
  previous: string;
  /** `owner/repo@abbrev subject` per commit, newest first (upstream's `git log --pretty`). */
  shortlog: string[];
  /** `QubesOS/qubes-issues#N` references found in those commits' messages. */
  issues: string[];
}

export type ReportKind = ReportEvent['kind'];

/** A queued event: its id (unique, sorts by queue time) names it in the hidden comment marker. */
export interface QueuedReport {
  id: string;
  queuedAt: string;
  event: ReportEvent;
}

/**
 * The issue an event goes to, which orders delivery: events of one key are delivered one at a
 * time in queue order. Status events: the version's status issue; announcements: the
 * referenced issue (its own key, so a waiting status issue does not hold it back, nor it them).
 */
export function issueKey(e: ReportEvent): string {
  if (e.kind === 'announce') return `#${e.issue}`; // no component starts with '#'
  // Three spaces: no component key (`<component> <version> (<release>)`, two) can be one.
  if (isImageEvent(e)) return `image ${imageComponent(e)} ${e.version} (${e.release})`;
  return `${e.component} ${e.version} (${e.release})`;
}
