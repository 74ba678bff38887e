import { oneLine } from '../../../errors.js';
import type { BuildPaths } from '../state/paths.js';
import { issueKey, type QueuedReport } from './events.js';
import { listQueued, removeQueued, sweepTemp } from './queue.js';
import type { Delivery, Reporter } from './reporter.js';

export interface DispatchOptions {
  paths: BuildPaths;
  reporter: Reporter;
  say(line: string): void;
  /** First wait after a failed try; doubled per further failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How often the queue is looked at when nothing else wakes the loop. */
  pollMs?: number;
}

export interface ReportDispatch {
  /** New reports were queued: look now rather than at the next poll. */
  kick(): void;
  stop(): Promise<void>;
}

/** A service's own Retry-After is honoured up to this long; more is treated as this. */
const MAX_SERVICE_WAIT_MS = 3600_000;

interface Backoff { failures: number; notBefore: number }

/** The wait after `failures` failed tries: base·2^(failures−1), capped, with up to 20 % jitter so restarts do not align. */
export function backoffMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(30, failures - 1));
  return Math.round(raw * (0.8 + 0.2 * random()));
}

/**
 * The report dispatcher the build daemon runs (docs/reports.md). Rules: reports of one status
 * issue (component version) are delivered one at a time in queue order, so labels end as the
 * last event left them; a report that must wait (network, 5xx, rate limit) holds back only its
 * own issue's later reports, with exponential backoff or the wait the service asked for; a
 * report that can never be delivered is logged and removed. It runs beside the builds and
 * never makes them wait: a build only writes queue files.
 */
export function startReportDispatch(o: DispatchOptions): ReportDispatch {
  const baseMs = o.retryBaseMs ?? 1000;
  const maxMs = o.retryMaxMs ?? 300_000;
  const backoff = new Map<string, Backoff>();
  let globalNotBefore = 0;
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const pass = async (): Promise<void> => {
    sweepTemp(o.paths);
    const groups = new Map<string, { file: string; report: QueuedReport }[]>();
    for (const q of listQueued(o.paths)) {
      if ('bad' in q) {
        o.say(`report ${q.file}: unreadable (${q.bad}); dropped`);
        removeQueued(q.file);
        continue;
      }
      const key = issueKey(q.report.event);
      const list = groups.get(key) ?? [];
      list.push({ file: q.file, report: q.report });
      groups.set(key, list);
    }
    for (const key of backoff.keys()) if (!groups.has(key)) backoff.delete(key);
    for (const [key, list] of groups) {
      for (const item of list) {
        if (stopped) return;
        const now = Date.now();
        const b = backoff.get(key);
        if (now < globalNotBefore || (b && now < b.notBefore)) break;
        let d: Delivery;
        try {
          d = await o.reporter.deliver(item.report);
        } catch (e) {
          d = { outcome: 'retry', why: `reporter failed: ${oneLine(e)}` }; // the seam promises not to throw; be safe anyway
        }
        const ev = item.report.event;
        const what = `report ${ev.kind} ${key}${'dist' in ev ? ` ${ev.dist}` : ''}`;
        if (d.outcome === 'done') {
          removeQueued(item.file);
          if (b) o.say(`${what}: delivered after ${b.failures} failed tr${b.failures === 1 ? 'y' : 'ies'}`);
          backoff.delete(key);
          continue;
        }
        if (d.outcome === 'dropped') {
          o.say(`${what}: dropped: ${d.why}`);
          removeQueued(item.file);
          backoff.delete(key);
          continue;
        }
        const failures = (b?.failures ?? 0) + 1;
        const wait = d.afterMs !== undefined ? Math.min(MAX_SERVICE_WAIT_MS, d.afterMs) : backoffMs(failures, baseMs, maxMs);
        backoff.set(key, { failures, notBefore: Date.now() + wait });
        // A service that named a wait (rate limit) means it for every request with this token.
        if (d.afterMs !== undefined) globalNotBefore = Date.now() + wait;
        o.say(`${what}: try ${failures} failed (${d.why}); next in ${Math.round(wait / 1000)} s`);
        break;
      }
    }
  };

  const kick = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().catch((e) => o.say(`report dispatch: ${oneLine(e)}`)).finally(() => {
      running = undefined;
      if (again) {
        again = false;
        setImmediate(kick);
      }
    });
  };

  const timer = setInterval(kick, o.pollMs ?? 1000);
  kick();
  return {
    kick,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      // A delivery cut short is sent again at the next start, and found by its marker.
      if (running) await Promise.race([running, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}
