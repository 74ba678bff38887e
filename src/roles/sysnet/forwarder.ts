import type { Transport } from '../../protocol/qrexec/transport.js';
import { EXIT_REFUSED } from '../../protocol/qrexec/exit-codes.js';
import type { Work } from '../../protocol/github/webhook.js';
import { lastLine } from '../../util/last-line.js';
import type { ForwardQueue, Job } from './queue.js';

export interface ForwarderOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpAfterMs: number;
  callTimeoutMs: number;
}

/** The qrexec call that carries `work` to a build VM (design §5). */
export function serviceCall(work: Work): { service: string; argument?: string; stdin?: string } {
  return work.kind === 'trigger'
    ? { service: 'qubesbuilder.TriggerBuild', argument: work.component }
    : { service: 'qubesbuilder.ProcessGithubCommand', stdin: work.text };
}

interface VmState { running: boolean; failures: number; timer?: NodeJS.Timeout }

/**
 * Forwards queued jobs to each build VM, one call at a time per VM, in accept order.
 * Rules: exit 0 = delivered; exit 126 (policy refused) = permanent for that job and VM;
 * anything else (VM off, service failing, timeout) = retry the same job with exponential
 * backoff (base·2^n, capped, ±20% jitter), and after giveUpAfterMs since accept the job is
 * dropped for that VM. A VM that fails never delays the others.
 */
export class Forwarder {
  private readonly vms = new Map<string, VmState>();
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: ForwardQueue,
    private readonly transport: Transport,
    private readonly buildVms: readonly string[],
    private readonly opts: ForwarderOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts (or wakes) the worker of every VM that has work and is not waiting for a retry. */
  kick(): void {
    if (this.stopped) return;
    for (const vm of this.buildVms) {
      const st = this.state(vm);
      if (!st.running && !st.timer && this.queue.nextFor(vm)) this.startWorker(vm, st);
    }
  }

  /** Stops scheduling, and waits for calls in flight so their outcome is journaled. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const st of this.vms.values()) if (st.timer) clearTimeout(st.timer);
    await Promise.all([...this.inFlight]);
  }

  private state(vm: string): VmState {
    let st = this.vms.get(vm);
    if (!st) this.vms.set(vm, (st = { running: false, failures: 0 }));
    return st;
  }

  private startWorker(vm: string, st: VmState): void {
    st.running = true;
    const p = this.work(vm, st).finally(() => { st.running = false; this.inFlight.delete(p); });
    this.inFlight.add(p);
  }

  private async work(vm: string, st: VmState): Promise<void> {
    for (let job = this.queue.nextFor(vm); job && !this.stopped; job = this.queue.nextFor(vm)) {
      const exit = await this.deliver(vm, job);
      if (exit === 0) {
        st.failures = 0;
        await this.queue.end(job, vm, 'sent');
        this.log(`job ${job.id} (${describe(job.work)}) delivered to ${vm}`);
      } else if (exit === EXIT_REFUSED) {
        st.failures = 0;
        await this.queue.end(job, vm, 'refused');
        this.log(`job ${job.id} refused by qrexec policy for ${vm}: not retried`);
      } else if (Date.now() - job.at > this.opts.giveUpAfterMs) {
        await this.queue.end(job, vm, 'expired');
        this.log(`job ${job.id} dropped for ${vm}: undeliverable for ${Math.round((Date.now() - job.at) / 3600_000)} h`);
      } else {
        st.failures++;
        const delay = this.backoff(st.failures);
        this.log(`job ${job.id} to ${vm} failed (exit ${exit}); retry ${st.failures} in ${Math.round(delay)} ms`);
        if (!this.stopped) st.timer = setTimeout(() => { st.timer = undefined; this.kick(); }, delay);
        return;
      }
    }
  }

  private backoff(failures: number): number {
    const raw = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(failures - 1, 30));
    return raw * (0.8 + Math.random() * 0.4);
  }

  /** One qrexec call; resolves to the callee's exit code (125 when the call itself broke). */
  private async deliver(vm: string, job: Job): Promise<number> {
    const req = serviceCall(job.work);
    let call;
    try {
      call = this.transport.call({ target: vm, service: req.service, argument: req.argument });
    } catch (e) {
      this.log(`job ${job.id} to ${vm}: cannot call: ${(e as Error).message}`);
      return 125;
    }
    call.stdin.on('error', () => { /* callee closed early: its exit code tells */ });
    call.stdin.end(req.stdin ?? '');
    call.stdout.resume();
    let stderr = '';
    call.stderr.on('data', (b: Buffer) => { if (stderr.length < 2048) stderr += b.toString('utf8'); });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        call.stdout.destroy();
        call.stderr.destroy();
        call.stdin.destroy();
        resolve(125);
      }, this.opts.callTimeoutMs);
    });
    const exit = await Promise.race([call.exit, timeout]).finally(() => clearTimeout(timer));
    if (exit !== 0 && stderr.trim()) this.log(`${vm}: ${lastLine(stderr).slice(0, 300)}`);
    return exit;
  }
}

function describe(work: Work): string {
  return work.kind === 'trigger' ? `TriggerBuild+${work.component}` : 'ProcessGithubCommand';
}
