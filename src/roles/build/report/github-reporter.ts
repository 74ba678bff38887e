import { readFileSync } from 'node:fs';
import { Octokit } from '@octokit/rest';
import { oneLine } from '../../../errors.js';
import type { GithubReportJson } from '../../../protocol/build/section.js';
import { planAnnouncement } from './announce-messages.js';
import { isImageEvent, type AnnounceEvent, type QueuedReport } from './events.js';
import { planImageReport } from './image-messages.js';
import { planReport, type MessageSettings } from './messages.js';
import type { Delivery, Reporter } from './reporter.js';

/** Where the reporter reports (qbuild.json `build.github`, from the pillar; docs/reports.md); the backoff is the dispatcher's. */
export type GithubReportConfig = Omit<GithubReportJson, 'retryBaseMs' | 'retryMaxMs'>;

/** One GitHub request may take this long before it counts as a network failure (retried). */
const REQUEST_TIMEOUT_MS = 30_000;

/** The hidden marker a comment carries: finding it means this event was delivered already. */
export function deliveryMarker(id: string): string {
  return `<!-- qbuild:${id} -->`;
}

interface IssueAt { owner: string; repo: string; issue_number: number }

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/**
 * Reports to GitHub as upstream's notify_issues.py does, idempotently: the status issue is
 * looked up by its exact title among the repository's open issues (upstream's lookup; the
 * issues list is consistent at once, unlike search, so an issue created by a try that crashed
 * before recording it is found), every comment carries the event's hidden marker and is only
 * posted when no comment on the issue has it, and label changes are idempotent by nature.
 */
export class GithubReporter implements Reporter {
  private readonly owner: string;
  private readonly repo: string;
  constructor(private readonly config: GithubReportConfig, private readonly messages: Omit<MessageSettings, 'logsUrl'>) {
    [this.owner, this.repo] = config.statusRepo.split('/') as [string, string];
  }

  async deliver(q: QueuedReport): Promise<Delivery> {
    let token: string;
    try {
      token = readFileSync(this.config.tokenFile, 'utf8').trim();
      // Rule: one line of printable ASCII (it goes into an HTTP header as it is).
      if (!/^[\x21-\x7e]{1,1024}$/.test(token)) throw new Error('not one line of printable ASCII (the token)');
    } catch (e) {
      // The operator may still be putting it in place: keep the reports.
      return { outcome: 'retry', why: `token file ${this.config.tokenFile}: ${oneLine(e)}` };
    }
    const gh = new Octokit({
      baseUrl: this.config.apiUrl.replace(/\/+$/, ''), auth: token, userAgent: 'qbuild-report', log: quiet,
      request: { fetch: (url: string, init: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }) },
    });
    if (q.event.kind === 'announce') return this.announce(gh, q.id, q.event);
    const settings = { ...this.messages, ...(this.config.logsUrl ? { logsUrl: this.config.logsUrl } : {}) };
    const plan = isImageEvent(q.event) ? planImageReport(q.event, settings) : planReport(q.event, settings);
    try {
      const issue = await this.findOrCreateIssue(gh, plan.title, plan.issueBody);
      await this.commentAndLabel(gh, { owner: this.owner, repo: this.repo, issue_number: issue }, q.id, plan);
      return { outcome: 'done' };
    } catch (e) {
      return classify(e);
    }
  }

  /**
   * Upstream's notify_closed_issues for one issue: the announcement and the upload's labels on
   * issue N of `build_issues_repo`. Rule: no such issue (404 when its comments are read) is
   * dropped, saying so: the commit referenced a number that is no issue there.
   */
  private async announce(gh: Octokit, id: string, e: AnnounceEvent): Promise<Delivery> {
    const [owner, repo] = this.config.issuesRepo.split('/') as [string, string];
    try {
      await this.commentAndLabel(gh, { owner, repo, issue_number: e.issue }, id, planAnnouncement(e));
      return { outcome: 'done' };
    } catch (err) {
      if (statusOf(err) === 404) return { outcome: 'dropped', why: `no issue ${e.issue} in ${this.config.issuesRepo} (HTTP 404)` };
      return classify(err);
    }
  }

  /** The comment (once: its marker is looked for first), then the label changes (idempotent by nature). */
  private async commentAndLabel(gh: Octokit, at: IssueAt, id: string, plan: { comment?: string; addLabels: string[]; removeLabels: string[] }): Promise<void> {
    if (plan.comment !== undefined) {
      const marker = deliveryMarker(id);
      if (!(await this.hasComment(gh, at, marker))) await gh.rest.issues.createComment({ ...at, body: `${plan.comment.replace(/\n+$/, '')}\n\n${marker}` });
    }
    for (const name of plan.removeLabels) {
      try {
        await gh.rest.issues.removeLabel({ ...at, name });
      } catch (e) {
        if (statusOf(e) !== 404) throw e; // 404: the issue does not have it, which is what we want
      }
    }
    if (plan.addLabels.length) await gh.rest.issues.addLabels({ ...at, labels: plan.addLabels });
  }

  private async findOrCreateIssue(gh: Octokit, title: string, body: string): Promise<number> {
    const pages = gh.paginate.iterator(gh.rest.issues.listForRepo, { owner: this.owner, repo: this.repo, state: 'open', per_page: 100 });
    for await (const page of pages) {
      const hit = page.data.find((i) => i.title === title && !i.pull_request);
      if (hit) return hit.number;
    }
    const created = await gh.rest.issues.create({ owner: this.owner, repo: this.repo, title, body });
    return created.data.number;
  }

  private async hasComment(gh: Octokit, at: IssueAt, marker: string): Promise<boolean> {
    const pages = gh.paginate.iterator(gh.rest.issues.listComments, { ...at, per_page: 100 });
    for await (const page of pages) if (page.data.some((c) => c.body?.includes(marker))) return true;
    return false;
  }
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown }).status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * When to try again (docs/reports.md). Rules: no HTTP answer (network, timeout), a 5xx, 408
 * and 429 are passing; a 403 is a rate limit when it says so (`retry-after`, or
 * `x-ratelimit-remaining: 0`) and then passing too; the wait is `retry-after` seconds, or until
 * `x-ratelimit-reset` (epoch seconds). Any other 4xx will answer the same next time: dropped.
 */
export function classify(e: unknown, now = Date.now()): Delivery {
  const status = statusOf(e);
  const response = (e as { response?: { headers?: Record<string, unknown> } }).response;
  const why = oneLine(e).slice(0, 300);
  if (status === undefined || !response) return { outcome: 'retry', why: `no answer: ${why}` };
  const h = response.headers ?? {};
  const after = retryAfterMs(h, now);
  const limited = status === 403 && (h['retry-after'] !== undefined || String(h['x-ratelimit-remaining']) === '0');
  if (status >= 500 || status === 408 || status === 429 || limited) {
    return after === undefined ? { outcome: 'retry', why: `HTTP ${status}: ${why}` } : { outcome: 'retry', why: `HTTP ${status}: ${why}`, afterMs: after };
  }
  return { outcome: 'dropped', why: `HTTP ${status}: ${why}` };
}

function retryAfterMs(h: Record<string, unknown>, now: number): number | undefined {
  const ra = Number(h['retry-after']);
  if (h['retry-after'] !== undefined && Number.isFinite(ra) && ra >= 0) return ra * 1000;
  const reset = Number(h['x-ratelimit-reset']);
  if (String(h['x-ratelimit-remaining']) === '0' && Number.isFinite(reset)) return Math.max(0, reset * 1000 - now);
  return undefined;
}
