import { QbuildError } from '../errors.js';

/**
 * A path option given without a value (`--out` last, `--out --dry-run`, `--out=`) reaches a
 * handler as '' (or not a string): refused as a usage error, never read as the current
 * directory or an empty file name. Undefined (option not given) passes through.
 */
export function pathOption(name: string, value: unknown, usage: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new QbuildError('usage', `--${name} needs a value; ${usage}`);
  return value;
}
