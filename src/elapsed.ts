/**
 * Milliseconds since this process started, for the start-up timings bench/sign reads.
 * process.uptime() rather than performance.now(): the global `performance` loads
 * node:perf_hooks on first use (~1.5 ms), a real share of a per-call process's life.
 * (Its origin is node's start, ~0.6 ms after performance.timeOrigin.)
 */
export const msSinceStart = (): number => process.uptime() * 1000;
