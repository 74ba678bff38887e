/**
 * What the build VM reports to GitHub (docs/reports.md). Each pipeline step that upstream's
 * notify_issues.py reports becomes one event; the reporter turns it into the status issue,
 * a comment and a label change. Plain values: the queue stores them as JSON.
 */
export type ReportEvent =
  | { kind: 'build-started'; component: string; version: string; release: string; dist: string; commit: string }
  | { kind: 'built'; component: string; version: string; release: string; dist: string; logPath: string }
  | { kind: 'build-failed'; component: string; version: string; release: string; dist: string; logPath: string; tail: string[] }
  | { kind: 'uploaded'; component: string; version: string; release: string; dist: string; repository: 'current-testing' | 'current' | 'security-testing'; logPath: string };

export type ReportKind = ReportEvent['kind'];

/** A queued event: its id (unique, sorts by queue time) names it in the hidden comment marker. */
export interface QueuedReport {
  id: string;
  queuedAt: string;
  event: ReportEvent;
}

/** The status issue an event belongs to: events of one component version are delivered in order. */
export function issueKey(e: ReportEvent): string {
  return `${e.component} ${e.version} (${e.release})`;
}
