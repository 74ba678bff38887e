import * as fs from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';

type Git = typeof import('isomorphic-git');

export interface CheckedOut {
  files: number;
  bytes: number;
  /** Submodule paths (gitlinks), which are not fetched. */
  submodules: string[];
}

/**
 * Writes the tree of `commit` into the new directory `dir` (no .git: the build sees files
 * only). Entry rules: a name is not empty, `.` or `..`, holds no `/` or NUL and is not `.git`
 * in any case; modes are 040000 (directory), 100644, 100755 (executable), 120000 (symlink,
 * written as such) and 160000 (submodule, listed and skipped); anything else is refused. The
 * blobs written may total at most `maxBytes` (a small pack can inflate enormously).
 */
export async function checkoutTree(gitdir: string, commit: string, dir: string, maxBytes: number): Promise<CheckedOut> {
  const git = (await import('isomorphic-git')).default as unknown as Git;
  const { commit: c } = await git.readCommit({ fs, gitdir, oid: commit });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out: CheckedOut = { files: 0, bytes: 0, submodules: [] };

  const walk = async (treeOid: string, into: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs, gitdir, oid: treeOid });
    for (const e of tree) {
      const shown = prefix + e.path;
      if (!e.path || e.path === '.' || e.path === '..' || /[/\0]/.test(e.path) || e.path.toLowerCase() === '.git') {
        throw new QbuildError('source', `the tree has a forbidden entry name ${JSON.stringify(shown)}`);
      }
      const target = join(into, e.path);
      if (e.mode === '040000') {
        fs.mkdirSync(target);
        await walk(e.oid, target, `${shown}/`);
        continue;
      }
      if (e.mode === '160000') { out.submodules.push(shown); continue; }
      if (e.mode !== '100644' && e.mode !== '100755' && e.mode !== '120000') {
        throw new QbuildError('source', `the tree entry ${JSON.stringify(shown)} has unsupported mode ${e.mode}`);
      }
      const { blob } = await git.readBlob({ fs, gitdir, oid: e.oid });
      out.bytes += blob.byteLength;
      if (out.bytes > maxBytes) throw new QbuildError('source', `the source tree exceeds the limit of ${maxBytes} bytes`);
      if (e.mode === '120000') {
        if (blob.includes(0)) throw new QbuildError('source', `the symlink ${JSON.stringify(shown)} has a NUL in its target`);
        fs.symlinkSync(Buffer.from(blob).toString('utf8'), target);
      } else {
        fs.writeFileSync(target, blob, { mode: e.mode === '100755' ? 0o755 : 0o644, flag: 'wx' });
      }
      out.files++;
    }
  };
  await walk(c.tree, dir, '');
  return out;
}
