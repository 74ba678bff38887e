import type { QueuedReport } from './events.js';

/**
 * How a delivery went, as the dispatcher acts on it:
 *   done     delivered (or found delivered already): the queue entry goes
 *   retry    a passing problem (network, 5xx, rate limit): try again later, `afterMs` if the service said when
 *   dropped  it can never be delivered as it is (a 4xx that will not change): logged and removed
 */
export type Delivery =
  | { outcome: 'done' }
  | { outcome: 'retry'; why: string; afterMs?: number }
  | { outcome: 'dropped'; why: string };

/**
 * The seam between the report queue and where reports go (GitHub today). `deliver` must be
 * idempotent: the dispatcher sends an event again when it cannot know whether the last try
 * arrived (a crash, a timeout), and that must not make a second issue or comment. It never throws.
 */
export interface Reporter {
  deliver(report: QueuedReport): Promise<Delivery>;
}
