import { execFile, execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import { checkTarMembers } from './tar-members.js';

/** Symlinks followed while resolving one link, as the kernel's limit (ELOOP). */
const MAX_HOPS = 40;

/**
 * Replaces `cwd` with the work dir a disposable sent back as the tar `tarFile`. This is the
 * security boundary of the build qube: the disposable may be hostile. Rules:
 * - the members are checked before anything is unpacked (tar-members.ts);
 * - GNU tar unpacks into a fresh directory next to `cwd` with --no-same-owner and
 *   --no-same-permissions (umask applies, no set-id bits), so nothing is written elsewhere
 *   even if a check above were wrong (GNU tar also refuses `..` and defers risky symlinks);
 * - the unpacked tree is walked with lstat: anything but files, directories and symlinks is
 *   refused, and so is a symlink that, followed through the tree's own symlinks, leaves it;
 * - only then `cwd` is replaced by the fresh directory (one rename). On a refusal `cwd` is
 *   left as it was sent and the fresh directory removed.
 */
export async function takeReturnedTree(tarFile: string, cwd: string): Promise<void> {
  checkTarMembers(tarFile);
  const fresh = mkdtempSync(join(dirname(cwd), `.${basename(cwd)}.returned-`));
  try {
    await unpack(tarFile, fresh);
    walk(fresh, []);
  } catch (e) {
    discard(fresh);
    throw e;
  }
  rmSync(cwd, { recursive: true, force: true });
  renameSync(fresh, cwd);
}

function unpack(tarFile: string, into: string): Promise<void> {
  const args = ['-x', '-f', tarFile, '-C', into, '--no-same-owner', '--no-same-permissions', '--no-overwrite-dir', '--delay-directory-restore'];
  return new Promise((resolve, reject) => {
    execFile('tar', args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' }, maxBuffer: 1 << 20 }, (err, _out, stderr) => {
      if (!err) return resolve();
      const line = String(stderr).split('\n').find((l) => l.trim()) ?? oneLine(err);
      reject(new QbuildError('stage', `refused what the disposable returned: tar: ${oneLine(line)}`));
    });
  });
}

function refuse(why: string): never {
  throw new QbuildError('stage', `refused what the disposable returned: ${why}`);
}

/** `parts`: the path of `dir` below the top. */
function walk(top: string, parts: string[]): void {
  const dir = join(top, ...parts);
  let names: string[];
  try { names = readdirSync(dir); } catch (e) { return refuse(`cannot read ${JSON.stringify(parts.join('/') || '.')}: ${oneLine(e)}`); }
  for (const name of names) {
    const rel = [...parts, name];
    const st = lstatSync(join(top, ...rel));
    if (st.isDirectory()) walk(top, rel);
    else if (st.isSymbolicLink()) {
      if (resolveInside(top, parts, readlinkSync(join(top, ...rel)), 0) === undefined) {
        refuse(`${JSON.stringify(rel.join('/').slice(0, 80))}: a symlink pointing outside the work dir`);
      }
    } else if (!st.isFile()) refuse(`${JSON.stringify(rel.join('/').slice(0, 80))} is a device, FIFO or socket`);
  }
}

/**
 * Resolves symlink `target` from directory `from` (components below `top`) as the kernel
 * would, following the tree's own symlinks; the resolved components, or undefined when it
 * leaves `top` (an absolute target, `..` above the top, or too many hops). A component that
 * does not exist is taken as a plain name (the tree does not change any more).
 */
function resolveInside(top: string, from: string[], target: string, hops: number): string[] | undefined {
  if (target.startsWith('/') || hops > MAX_HOPS) return undefined;
  let at = [...from];
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (at.length === 0) return undefined;
      at.pop();
      continue;
    }
    at.push(c);
    let link: string | undefined;
    try {
      if (lstatSync(join(top, ...at)).isSymbolicLink()) link = readlinkSync(join(top, ...at));
    } catch { /* does not exist: a plain name */ }
    if (link !== undefined) {
      const r = resolveInside(top, at.slice(0, -1), link, hops + 1);
      if (r === undefined) return undefined;
      at = r;
    }
  }
  return at;
}

/** Removes a refused tree, first making its directories writable (a tar may set mode 000). */
function discard(dir: string): void {
  try { execFileSync('chmod', ['-R', 'u+rwX', dir], { stdio: 'ignore' }); } catch { /* rm says what is left */ }
  rmSync(dir, { recursive: true, force: true });
}
