import type { Work } from '../../protocol/github/webhook.js';
import type { Journal } from './journal.js';

/** One accepted delivery and the build VMs that still have to get it. */
export interface Job {
  id: number;
  delivery: string;
  /** Accept time (ms since epoch). */
  at: number;
  work: Work;
  vms: string[];
  /** VMs that are finished with this job (sent, refused or given up). */
  done: Set<string>;
}

/** How a job ended for one VM. */
export type Outcome = 'sent' | 'refused' | 'expired';

/** Journal records: the queue is rebuilt from these on start. */
type JRecord =
  | { t: 'job'; id: number; d: string; at: number; w: Work; vms: string[] }
  | { t: 'end'; id: number; vm: string; o: Outcome }
  | { t: 'seen'; d: string };

export type AcceptResult = { kind: 'accepted'; id: number } | { kind: 'duplicate' } | { kind: 'full' };

/** Compact once the journal passes this size, and then twice its compacted size. */
const COMPACT_BYTES = 1024 * 1024;

/**
 * The durable forward queue: jobs in accept order, per-VM progress, and the delivery GUIDs
 * already seen. Every change is journaled before it is acted on: a job is on disk before its
 * 202, and a VM's `end` record is on disk before the forwarder moves to that VM's next job.
 */
export class ForwardQueue {
  private readonly jobs = new Map<number, Job>();
  /** GUIDs of pending jobs and of the last `dedupeMemory` finished ones (insertion-ordered). */
  private readonly seen = new Map<string, true>();
  /** GUIDs whose job record is still on its way to disk. */
  private readonly unconfirmed = new Set<string>();
  private nextId = 1;
  private compacting = false;
  private compactAt = COMPACT_BYTES;

  constructor(private readonly journal: Journal, private readonly opts: { queueMax: number; dedupeMemory: number; buildVms: string[] }) {}

  /**
   * Rebuilds the queue from journal records. Jobs keep the VMs they were accepted for, minus
   * VMs no longer configured (those return in `dropped`, for the log).
   */
  load(records: unknown[]): { dropped: string[] } {
    const dropped = new Set<string>();
    for (const raw of records) {
      const r = raw as JRecord;
      if (r.t === 'job') {
        const vms = r.vms.filter((vm) => this.opts.buildVms.includes(vm) || (dropped.add(vm), false));
        this.jobs.set(r.id, { id: r.id, delivery: r.d, at: r.at, work: r.w, vms, done: new Set() });
        this.remember(r.d);
        this.nextId = Math.max(this.nextId, r.id + 1);
      } else if (r.t === 'end') {
        this.jobs.get(r.id)?.done.add(r.vm);
      } else if (r.t === 'seen') {
        this.remember(r.d);
      }
    }
    // Concurrent batches may land out of order: forward in id (accept) order.
    const pending = [...this.jobs.values()].filter((j) => !this.finished(j)).sort((a, b) => a.id - b.id);
    this.jobs.clear();
    for (const j of pending) this.jobs.set(j.id, j);
    return { dropped: [...dropped] };
  }

  get depth(): number { return this.jobs.size; }

  /** Pending jobs, oldest first (for status output and tests). */
  pending(): Job[] { return [...this.jobs.values()]; }

  /**
   * Accepts a delivery. Rules: a GUID already seen (pending, or finished within the dedupe
   * memory, including before a restart) is a duplicate and queues nothing; when `queueMax`
   * jobs are pending the delivery is refused as full; otherwise it is journaled (fsync) and
   * only then reported accepted.
   */
  async accept(delivery: string, work: Work): Promise<AcceptResult> {
    if (this.seen.has(delivery)) return { kind: 'duplicate' };
    if (this.jobs.size >= this.opts.queueMax) return { kind: 'full' };
    const job: Job = { id: this.nextId++, delivery, at: Date.now(), work, vms: [...this.opts.buildVms], done: new Set() };
    this.seen.set(delivery, true); // before the fsync: a concurrent duplicate must not slip in
    this.unconfirmed.add(delivery);
    const record: JRecord = { t: 'job', id: job.id, d: delivery, at: job.at, w: work, vms: job.vms };
    try {
      await this.journal.append(record, () => {
        this.unconfirmed.delete(delivery);
        if (this.finished(job)) this.trim(); else this.jobs.set(job.id, job);
      });
    } catch (e) {
      this.unconfirmed.delete(delivery);
      this.seen.delete(delivery);
      throw e;
    }
    return { kind: 'accepted', id: job.id };
  }

  /** The oldest job `vm` has not finished, if any. */
  nextFor(vm: string): Job | undefined {
    for (const job of this.jobs.values()) if (job.vms.includes(vm) && !job.done.has(vm)) return job;
    return undefined;
  }

  /** Records (durably) that `vm` is finished with `job`; the job leaves the queue when all VMs are. */
  async end(job: Job, vm: string, outcome: Outcome): Promise<void> {
    await this.journal.append({ t: 'end', id: job.id, vm, o: outcome } satisfies JRecord, () => {
      job.done.add(vm);
      if (this.finished(job)) { this.jobs.delete(job.id); this.trim(); }
    });
    if (this.journal.size > this.compactAt) void this.compact().catch(() => { /* retried at the next threshold */ });
  }

  /** Rewrites the journal as: remembered GUIDs, then pending jobs with their progress. */
  async compact(): Promise<void> {
    if (this.compacting) return;
    this.compacting = true;
    try {
      await this.journal.rewrite(() => this.snapshot());
      this.compactAt = Math.max(COMPACT_BYTES, 2 * this.journal.size);
    } finally {
      this.compacting = false;
    }
  }

  /**
   * The journal's compacted form: remembered GUIDs, then pending jobs with their progress.
   * GUIDs of jobs whose record is still on its way to disk are not in `jobs`, and must not be
   * written as `seen` either (that record would make the job's GUID a duplicate on restart).
   */
  private snapshot(): JRecord[] {
    const pendingDeliveries = new Set([...this.jobs.values()].map((j) => j.delivery));
    const records: JRecord[] = [];
    for (const d of this.seen.keys()) if (!pendingDeliveries.has(d) && !this.unconfirmed.has(d)) records.push({ t: 'seen', d });
    for (const j of this.jobs.values()) {
      records.push({ t: 'job', id: j.id, d: j.delivery, at: j.at, w: j.work, vms: j.vms });
      for (const vm of j.done) records.push({ t: 'end', id: j.id, vm, o: 'sent' });
    }
    return records;
  }

  private finished(job: Job): boolean {
    return job.vms.every((vm) => job.done.has(vm));
  }

  private remember(delivery: string): void {
    this.seen.delete(delivery);
    this.seen.set(delivery, true);
    this.trim();
  }

  /** Forgets the oldest finished GUIDs beyond dedupeMemory; GUIDs of pending jobs are kept. */
  private trim(): void {
    let excess = this.seen.size - this.jobs.size - this.opts.dedupeMemory;
    if (excess <= 0) return;
    const pendingDeliveries = new Set([...this.jobs.values()].map((j) => j.delivery));
    for (const d of this.seen.keys()) {
      if (excess <= 0) break;
      if (pendingDeliveries.has(d)) continue;
      this.seen.delete(d);
      excess--;
    }
  }
}
