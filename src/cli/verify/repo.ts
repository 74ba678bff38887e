import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { isLogPath } from '../../protocol/ticket/ticket.js';

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
    const r = spawnSync('git', ['-C', this.dir, ...args], { maxBuffer: 1 << 30, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' } });
    if (r.error) throw new QbuildError('io', `git ${args[0]}: ${r.error.message}`);
    if (r.status !== 0) throw new QbuildError('io', `git ${args.join(' ').slice(0, 80)}: ${r.stderr.toString('utf8').trim().split('\n').pop() ?? `exit ${r.status}`}`);
    return r.stdout;
  }

  /**
   * A file of the work tree by its repository path. Rule: a relative `/`-separated path with
   * no empty, `.`, `..` or `.git` part; a missing file (or a directory) is undefined.
   */
  read(path: string): Buffer | undefined {
    const parts = path.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..' || p === '.git')) return undefined;
    try {
      return readFileSync(join(this.dir, ...parts));
    } catch {
      return undefined;
    }
  }

  /** Every build log in the work tree: `<vm>/[sub/]log_*` (not provenance files). */
  logPaths(): string[] {
    const out: string[] = [];
    const walk = (rel: string[], depth: number) => {
      if (depth > 8) return;
      for (const name of readdirSync(join(this.dir, ...rel))) {
        if (name.startsWith('.') || (rel.length === 0 && (name === 'tile' || name === 'checkpoint'))) continue;
        const next = [...rel, name];
        const st = statSync(join(this.dir, ...next));
        if (st.isDirectory()) walk(next, depth + 1);
        else if (rel.length > 0 && /^log_[0-9_.-]+$/.test(name) && isLogPath(next.join('/'))) out.push(next.join('/'));
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

  /** A file's bytes at a commit, or undefined when the commit has no such file. */
  show(commit: string, path: string): Buffer | undefined {
    const r = spawnSync('git', ['-C', this.dir, 'cat-file', 'blob', `${commit}:${path}`], { maxBuffer: 1 << 30 });
    return r.status === 0 ? r.stdout : undefined;
  }
}
