import { expect } from 'vitest';
import { QbuildError, type ErrorCode } from '../../src/errors.js';

function check(e: unknown, code: ErrorCode): string {
  expect(e).toBeInstanceOf(QbuildError);
  expect((e as QbuildError).code).toBe(code);
  expect((e as Error).message).not.toContain('\n');
  return (e as Error).message;
}

/** The one-line message of the QbuildError with `code` that `f` throws; fails if `f` returns. */
export function oneLineError(code: ErrorCode, f: () => unknown, what = 'input'): string {
  try {
    f();
  } catch (e) {
    return check(e, code);
  }
  throw new Error(`${what} was accepted`);
}

/** The same for an async `f`. */
export async function oneLineErrorAsync(code: ErrorCode, f: () => Promise<unknown>, what = 'input'): Promise<string> {
  try {
    await f();
  } catch (e) {
    return check(e, code);
  }
  throw new Error(`${what} was accepted`);
}
