import { readFileSync } from 'node:fs';
import { QbuildError } from '../errors.js';

/** `ENOENT: no such file or directory, open 'x'` → `no such file or directory` (the name is ours to say). */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const m = /^[A-Z]+: ([^,]+)/.exec(err.message ?? '');
  return m ? m[1]! : String(err.message ?? e);
}

/**
 * Reads a file the user named on the command line (`-` or none: stdin). One that cannot be
 * read is bad input (exit 2), reported under the name the user typed.
 */
export function readInputFile(path: string | undefined): string {
  try {
    return readFileSync(path === undefined || path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new QbuildError('bad-input', `cannot read ${path === undefined || path === '-' ? 'stdin' : path}: ${reason(e)}`);
  }
}
