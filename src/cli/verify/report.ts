import { QbuildError, oneLine } from '../../errors.js';

/**
 * How `qbuild verify` speaks: one line per check that passed (`ok <check>: <what>`), and the
 * first check that failed as one error line naming it (`<check>: <what broke>`, exit 1).
 */
export class Checks {
  readonly passed: string[] = [];
  constructor(private readonly out: (line: string) => void) {}

  ok(check: string, detail: string): void {
    this.passed.push(check);
    this.out(`ok ${check}: ${detail}`);
  }

  /** A step skipped for want of an input (a key not given): said, never counted as passed. */
  skipped(check: string, why: string): void {
    this.out(`-- ${check}: not checked (${why})`);
  }
}

export function broke(check: string, why: string): never {
  throw new QbuildError('verify', `${check}: ${why}`);
}

/** Runs a parser or reader as part of `check`: whatever it throws is reported as that check failing. */
export function within<T>(check: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof QbuildError && e.code === 'verify') throw e;
    return broke(check, oneLine(e));
  }
}

export async function withinAsync<T>(check: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof QbuildError && e.code === 'verify') throw e;
    return broke(check, oneLine(e));
  }
}
