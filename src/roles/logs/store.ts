import { closeSync, existsSync, mkdirSync, openSync, realpathSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { QbuildError } from '../../errors.js';
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
  mkdirSync(dir, { recursive: true, mode: 0o755 });
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
 * Resolves a store-relative log path to an absolute file inside the store. Rules: the path
 * must pass isLogPath (relative, safe segments, no `.`/`..`), its last segment must be a log
 * name (`log_...`), and after resolving symlinks it must still be inside the store. Anything
 * else is refused: no request can name a file outside the store.
 */
export function resolveLogPath(store: string, path: string): string {
  if (!isLogPath(path)) throw new QbuildError('bad-input', 'not a log path');
  const last = path.slice(path.lastIndexOf('/') + 1);
  if (!/^log_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}(\.\d{1,4})?$/.test(last)) throw new QbuildError('bad-input', 'not a log path');
  const root = realpathSync(store);
  const abs = resolve(root, ...path.split('/'));
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new QbuildError('bad-input', 'no such log');
  }
  const rel = relative(root, real);
  if (!rel || rel.startsWith('..') || rel.split(sep).includes('..') || resolve(root, rel) !== real) {
    throw new QbuildError('bad-input', 'not a log path');
  }
  return real;
}

export function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}
