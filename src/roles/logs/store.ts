import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { QbuildError, oneLine } from '../../errors.js';
import { logFileName } from '../../protocol/buildlog/format.js';
import { isLogPath } from '../../protocol/ticket/ticket.js';

/** Upstream tries `.1`, `.2`, ... when a name is taken; past this many we give up. */
const MAX_COLLISIONS = 1000;

export interface CreatedLog {
  /** Relative to the store, `/`-separated: what BuildLog prints and git records. */
  path: string;
  fd: number;
}

/**
 * Creates `<store>/<vm>/[sub/]log_<start>[.N]` exclusively (O_EXCL), like upstream: the
 * first free name wins, a name whose `.xz` sibling exists counts as taken.
 */
export function createLogFile(store: string, vm: string, subdir: string, startMicros: number): CreatedLog {
  const dirRel = subdir ? `${vm}/${subdir}` : vm;
  const dir = join(store, ...dirRel.split('/'));
  try {
    mkdirSync(store, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new QbuildError('io', `cannot create the log store ${store}: ${oneLine(e)}`);
  }
  makeLogDir(store, dirRel);
  for (let n = 0; n <= MAX_COLLISIONS; n++) {
    const name = logFileName(startMicros, n);
    const abs = join(dir, name);
    if (existsSync(`${abs}.xz`)) continue;
    try {
      const fd = openSync(abs, 'wx', 0o644);
      return { path: `${dirRel}/${name}`, fd };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new QbuildError('io', `cannot create log ${abs}: ${(e as Error).message}`);
    }
  }
  throw new QbuildError('io', `more than ${MAX_COLLISIONS} logs started in the same second in ${dir}`);
}

/**
 * Creates `<store>/<vm>[/<sub>]`. Rule: each must be a directory (not a symlink); a name taken
 * by a file (a sub-directory argument equal to an existing log's name) is refused with one
 * line, exit 2: the caller chose a name that cannot hold logs.
 */
function makeLogDir(store: string, dirRel: string): void {
  let dir = store;
  for (const seg of dirRel.split('/')) {
    dir = join(dir, seg);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new QbuildError('io', `cannot create ${dirRel} in the log store: ${code === 'ENOSPC' ? 'disk full (ENOSPC)' : oneLine(e)}`);
      let st;
      try {
        st = lstatSync(dir);
      } catch (e2) {
        throw new QbuildError('io', `cannot create ${dirRel} in the log store: ${oneLine(e2)}`);
      }
      if (!st.isDirectory()) throw new QbuildError('bad-input', `cannot store logs under ${dirRel}: ${seg} is already a file in the log store`);
    }
  }
}

const LOG_NAME_RE = /^log_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(\.\d{1,4})?$/;

/**
 * Resolves a store-relative log path to an absolute file inside the store. Rules: the path
 * must pass isLogPath (relative, safe segments, no `.`/`..`), no segment may start with `.`
 * (nothing under `.git`), its last segment must be a log name (`log_...`), and no part of it
 * may be a symlink: resolving it must give back the very same path, a regular file. Anything
 * else is refused: no request can name a file outside the store, or a non-log file inside it.
 */
export function resolveLogPath(store: string, path: string): string {
  if (!isLogPath(path) || path.split('/').some((g) => g.startsWith('.'))) throw new QbuildError('bad-input', 'not a log path');
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!LOG_NAME_RE.test(last)) throw new QbuildError('bad-input', 'not a log path');
  let root: string;
  let real: string;
  try {
    root = realpathSync(store);
    real = realpathSync(resolve(root, ...path.split('/')));
  } catch {
    throw new QbuildError('bad-input', 'no such log');
  }
  if (real !== resolve(root, ...path.split('/')) || relative(root, real).split(sep).join('/') !== path) {
    throw new QbuildError('bad-input', 'not a log path');
  }
  return real;
}

/**
 * Opens a log for reading by resolveLogPath's rules; the open itself does not follow a
 * symlink (O_NOFOLLOW) and the opened file must be a regular file, so a link swapped in after
 * the check is refused too. Every failure (including EMFILE) is a QbuildError, never a throw
 * of the file system's own.
 */
export function openLogForReading(store: string, path: string): number {
  const abs = resolveLogPath(store, path);
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    throw new QbuildError('io', `cannot open the log: ${(e as NodeJS.ErrnoException).code ?? oneLine(e)}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new QbuildError('bad-input', 'not a log path');
  } catch (e) {
    closeQuietly(fd);
    throw e instanceof QbuildError ? e : new QbuildError('io', `cannot open the log: ${oneLine(e)}`);
  }
  return fd;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}
