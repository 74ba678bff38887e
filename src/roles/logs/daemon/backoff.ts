/**
 * A retry loop: run() is attempted when kicked; on failure it is retried after 1 s, 2 s, 4 s
 * ... up to maxMs. Work is never lost by a failure, only postponed; kicks during a run are
 * remembered so nothing waits a full back-off after new work arrives.
 */
export class RetryLoop {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private delay = 0;
  private stopped = false;
  lastError: string | undefined;

  constructor(private readonly run: () => Promise<void>, private readonly maxMs = 60_000, private readonly log: (m: string) => void = () => {}) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    void this.attempt();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    this.running = true;
    this.again = false;
    try {
      await this.run();
      this.delay = 0;
      this.lastError = undefined;
    } catch (e) {
      this.lastError = (e as Error).message;
      this.delay = Math.min(this.delay ? this.delay * 2 : 1000, this.maxMs);
      this.log(`${this.lastError}; retrying in ${this.delay / 1000} s`);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.delay > 0) {
      this.timer = setTimeout(() => { this.timer = undefined; void this.attempt(); }, this.delay);
      this.timer.unref();
    } else if (this.again) {
      void this.attempt();
    }
  }
}
