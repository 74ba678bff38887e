import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { isLogPath } from '../../protocol/ticket/ticket.js';

/**
 * git in a clone someone else may have made: its own `.git/config` must not run a program
 * (core.fsmonitor, hooks) or change what the output looks like (log.showSignature); these
 * overrides rank as command-line settings, above the clone's.
 */
const GIT_OVERRIDES: [string, string][] = [['core.fsmonitor', 'false'], ['core.hooksPath', '/dev/null'], ['log.showSignature', 'false'], ['log.decorate', 'false']];
const GIT_ENV = {
  ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', GIT_CONFIG_COUNT: String(GIT_OVERRIDES.length),
  ...Object.fromEntries(GIT_OVERRIDES.flatMap(([k, v], i) => [[`GIT_CONFIG_KEY_${i}`, k], [`GIT_CONFIG_VALUE_${i}`, v]])),
};

function bad(why: string): never {
  throw new QbuildError('bad-input', why);
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * A clone of the logs repository, as an auditor has it: files are read from its work tree,
 * history and commit objects through git.
 */
export class LogsRepo {
  private constructor(readonly dir: string, readonly head: string) {}

  /** Rule: DIR is a git work tree with at least one commit. */
  static open(dir: string): LogsRepo {
    if (!existsSync(join(dir, '.git'))) throw new QbuildError('usage', `--logs-repo ${dir} is not a git clone (no .git)`);
    const r = new LogsRepo(dir, '');
    let head: string;
    try {
      head = r.git(['rev-parse', '--verify', 'HEAD']).toString('utf8').trim();
    } catch {
      throw new QbuildError('usage', `--logs-repo ${dir} has no commit (clone the logs repository the logs VM pushes)`);
    }
    return new LogsRepo(dir, head);
  }

  /** Runs git in the clone; a failure is one line naming the command. */
  git(args: string[]): Buffer {
    const r = spawnSync('git', ['-C', this.dir, ...args], { maxBuffer: 1 << 30, env: GIT_ENV });
    if (r.error) throw new QbuildError('io', `git ${args[0]}: ${r.error.message}`);
    if (r.status !== 0) throw new QbuildError('io', `git ${args.join(' ').slice(0, 80)}: ${r.stderr.toString('utf8').trim().split('\n').pop() ?? `exit ${r.status}`}`);
    return r.stdout;
  }

  /**
   * A file of the work tree by its repository path, read whole. Rules: a relative
   * `/`-separated path with no empty, `.`, `..` or `.git` part; no part of it is a symbolic
   * link (a clone's link may point anywhere: only the clone's own files are evidence); the file
   * is a regular file (a device or FIFO is refused); one over `maxBytes` is refused unread. A
   * missing file (or a directory) is undefined.
   */
  read(path: string, maxBytes: number): Buffer | undefined {
    const fd = this.openFile(path);
    if (fd === undefined) return undefined;
    try {
      const size = fstatSync(fd).size;
      if (size > maxBytes) bad(`${path} is ${size} bytes, more than ${maxBytes}`);
      const out = Buffer.alloc(size);
      let at = 0;
      while (at < size) {
        const n = readSync(fd, out, at, size - at, at);
        if (n === 0) break;
        at += n;
      }
      return out.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  }

  /** The SHA-256 (hex) of a file of the work tree, read in chunks (a log may be large); read's rules, with no size bound. */
  sha256(path: string): string | undefined {
    const fd = this.openFile(path);
    if (fd === undefined) return undefined;
    try {
      const h = createHash('sha256');
      const chunk = Buffer.alloc(1 << 20);
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) h.update(chunk.subarray(0, n));
      return h.digest('hex');
    } finally {
      closeSync(fd);
    }
  }

  /** Opens a regular file of the clone by read's rules; undefined when it is missing or a directory. */
  private openFile(path: string): number | undefined {
    const parts = path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p === '.git')) return undefined;
    for (let i = 1; i < parts.length; i++) {
      const st = lstatOrUndefined(join(this.dir, ...parts.slice(0, i)));
      if (!st) return undefined;
      if (st.isSymbolicLink()) bad(`${path}: ${parts.slice(0, i).join('/')} is a symbolic link, not a directory of the clone`);
      if (!st.isDirectory()) return undefined;
    }
    let fd: number;
    try {
      fd = openSync(join(this.dir, ...parts), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      if (code === 'ELOOP') bad(`${path} is a symbolic link, not a file of the clone`);
      throw new QbuildError('io', `${path}: ${(e as Error).message}`);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      if (st.isDirectory()) return undefined;
      bad(`${path} is not a regular file`);
    }
    return fd;
  }

  /**
   * Every build log in the work tree: `<vm>/[sub/]log_*` (not provenance files). Rule: no
   * symbolic link anywhere under the log directories (the logs VM commits none; one could lead
   * the walk out of the clone or round in a loop).
   */
  logPaths(): string[] {
    const out: string[] = [];
    const walk = (rel: string[], depth: number) => {
      if (depth > 8) return;
      for (const name of readdirSync(join(this.dir, ...rel)).sort()) {
        if (name.startsWith('.') || (rel.length === 0 && (name === 'tile' || name === 'checkpoint'))) continue;
        const next = [...rel, name];
        const st = lstatSync(join(this.dir, ...next));
        if (st.isSymbolicLink()) bad(`${next.join('/')} is a symbolic link in the logs repository`);
        if (st.isDirectory()) walk(next, depth + 1);
        else if (st.isFile() && rel.length > 0 && /^log_[0-9_.-]+$/.test(name) && isLogPath(next.join('/'))) out.push(next.join('/'));
      }
    };
    walk([], 0);
    return out.sort();
  }

  /** The commits that changed `path`, oldest first. */
  commitsTouching(path: string): string[] {
    return this.git(['log', '--format=%H', '--reverse', 'HEAD', '--', path]).toString('utf8').split('\n').filter(Boolean);
  }

  /** The commit that last added `path` (the log's `Add <path>` commit, unless it was removed and added again), if any. */
  addingCommit(path: string): string | undefined {
    return this.git(['log', '-n', '1', '--format=%H', '--diff-filter=A', 'HEAD', '--', path]).toString('utf8').trim() || undefined;
  }

  /**
   * The SHA-256 (hex) of a file's bytes at a commit, streamed from git through sha256sum (a
   * log may be larger than memory, and git stores a run of zeros in next to nothing);
   * undefined when the commit has no such file.
   */
  showSha256(commit: string, path: string): string | undefined {
    const spec = `${commit}:${path}`;
    const type = spawnSync('git', ['-C', this.dir, 'cat-file', '-t', spec], { env: GIT_ENV, encoding: 'utf8' });
    if (type.status !== 0 || type.stdout.trim() !== 'blob') return undefined;
    // pipefail: git failing mid-stream (a damaged object) is that error, not a wrong digest.
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', 'git -C "$1" cat-file blob "$2" | sha256sum', 'bash', this.dir, spec], { env: GIT_ENV, encoding: 'utf8' });
    const m = /^([0-9a-f]{64}) /.exec(r.stdout ?? '');
    if (r.error || r.status !== 0 || !m) throw new QbuildError('io', `git cat-file blob ${spec.slice(0, 80)} | sha256sum: ${r.error?.message ?? (r.stderr.trim().split('\n').pop() || `exit ${r.status}`)}`);
    return m[1];
  }

  /**
   * A file's bytes at a commit, or undefined when the commit has no such file. Rule: a blob
   * over `maxBytes` is refused unread (git can hold gigabytes of zeros in a few megabytes).
   */
  show(commit: string, path: string, maxBytes: number): Buffer | undefined {
    const spec = `${commit}:${path}`;
    const size = spawnSync('git', ['-C', this.dir, 'cat-file', '-s', spec], { env: GIT_ENV, encoding: 'utf8' });
    if (size.status !== 0) return undefined;
    if (Number(size.stdout.trim()) > maxBytes) bad(`${path} at commit ${commit.slice(0, 12)} is ${size.stdout.trim()} bytes, more than ${maxBytes}`);
    const r = spawnSync('git', ['-C', this.dir, 'cat-file', 'blob', spec], { env: GIT_ENV, maxBuffer: maxBytes + 1 });
    return r.status === 0 ? r.stdout : undefined;
  }
}
