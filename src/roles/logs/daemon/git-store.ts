import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommitSigner } from './pgp.js';
import { writeBlobFromFile, type WrittenBlob } from './blob.js';

type Git = typeof import('isomorphic-git');

async function git(): Promise<Git> {
  return (await import('isomorphic-git')).default as unknown as Git;
}

export interface Committed {
  oid: string;
  blob: string;
  sha256: string;
  size: number;
  /** false when HEAD already had this exact file (a restart after committing). */
  created: boolean;
}

/** The logs git repository (the store is its work tree). */
export class LogRepo {
  readonly gitdir: string;
  constructor(readonly dir: string, readonly branch: string) {
    this.gitdir = join(dir, '.git');
  }

  isInitialised(): boolean {
    return fs.existsSync(join(this.gitdir, 'HEAD'));
  }

  async init(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (this.isInitialised()) return;
    await (await git()).init({ fs, dir: this.dir, defaultBranch: this.branch });
  }

  async head(): Promise<string | undefined> {
    try {
      return await (await git()).resolveRef({ fs, dir: this.dir, ref: `refs/heads/${this.branch}` });
    } catch {
      return undefined;
    }
  }

  /** The blob at `path` in HEAD, if any. */
  private async blobAtHead(path: string): Promise<string | undefined> {
    const head = await this.head();
    if (!head) return undefined;
    try {
      return (await (await git()).readBlob({ fs, dir: this.dir, oid: head, filepath: path })).oid;
    } catch {
      return undefined;
    }
  }

  /** Stores the log's current bytes as a blob (streaming; idempotent: objects are content-addressed). */
  writeLog(path: string): Promise<WrittenBlob> {
    return writeBlobFromFile(this.gitdir, join(this.dir, ...path.split('/')));
  }

  /** The bytes at `path` in HEAD, if any. */
  async readAtHead(path: string): Promise<Buffer | undefined> {
    const head = await this.head();
    if (!head) return undefined;
    try {
      return Buffer.from((await (await git()).readBlob({ fs, dir: this.dir, oid: head, filepath: path })).blob);
    } catch {
      return undefined;
    }
  }

  /**
   * One signed commit `Add <path>` holding the log's blob and the files `extra()` returns (the
   * ledger's checkpoint, tiles and provenance: written to the work tree too; `remove` paths
   * leave the tree). Idempotent: when HEAD already has the same bytes at `path` nothing new is
   * made and `extra` is not called.
   */
  async commitLog(
    path: string, blob: WrittenBlob, signer: CommitSigner, committer: { name: string; email: string },
    extra: () => Promise<{ files: { path: string; bytes: Buffer }[]; remove: string[] }> = async () => ({ files: [], remove: [] }),
  ): Promise<Committed> {
    const g = await git();
    const existing = await this.blobAtHead(path);
    if (existing === blob.oid) {
      return { oid: (await this.head())!, blob: blob.oid, sha256: blob.sha256, size: blob.size, created: false };
    }
    const more = await extra();
    await g.updateIndex({ fs, dir: this.dir, filepath: path, oid: blob.oid, add: true });
    for (const f of more.files) {
      const abs = join(this.dir, ...f.path.split('/'));
      fs.mkdirSync(dirname(abs), { recursive: true });
      fs.writeFileSync(abs, f.bytes);
      const oid = await g.writeBlob({ fs, dir: this.dir, blob: f.bytes });
      await g.updateIndex({ fs, dir: this.dir, filepath: f.path, oid, add: true });
    }
    for (const r of more.remove) {
      await g.remove({ fs, dir: this.dir, filepath: r });
      fs.rmSync(join(this.dir, ...r.split('/')), { force: true });
    }
    const who = { ...committer, timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
    const oid = await g.commit({
      fs, dir: this.dir, ref: `refs/heads/${this.branch}`,
      message: `Add ${path}\n`,
      author: who, committer: who,
      signingKey: 'logs',
      onSign: async ({ payload }) => ({ signature: await signer.sign(payload) }),
    });
    return { oid, blob: blob.oid, sha256: blob.sha256, size: blob.size, created: true };
  }

  /** Commits between the last pushed commit and HEAD (0 when nothing waits). */
  async unpushed(): Promise<number> {
    const head = await this.head();
    if (!head) return 0;
    const pushed = this.pushedOid();
    const g = await git();
    let n = 0;
    for (const c of await g.log({ fs, dir: this.dir, ref: head, depth: 10000 })) {
      if (c.oid === pushed) break;
      n++;
    }
    return n;
  }

  /** The last commit the remote accepted, remembered across restarts. */
  pushedOid(): string | undefined {
    try {
      return fs.readFileSync(join(this.gitdir, 'qbuild-pushed'), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** The remote has `oid`: it is the last pushed commit or one of its ancestors. */
  async isPushed(oid: string): Promise<boolean> {
    const pushed = this.pushedOid();
    if (!pushed) return false;
    if (pushed === oid) return true;
    try {
      return await (await git()).isDescendent({ fs, dir: this.dir, oid: pushed, ancestor: oid, depth: -1 });
    } catch {
      return false;
    }
  }

  /** Pushes the branch to `url` over smart HTTP(S), with the token as basic-auth password. */
  async push(url: string, token: string | undefined): Promise<string> {
    const g = await git();
    const http = (await import('isomorphic-git/http/node')).default;
    const head = await this.head();
    if (!head) return '';
    const res = await g.push({
      fs, http, dir: this.dir, url, ref: this.branch, remoteRef: this.branch,
      onAuth: () => (token ? { username: 'qbuild', password: token } : {}),
      onAuthFailure: () => ({ cancel: true }),
    });
    if (!res.ok) throw new Error(`push refused: ${res.error ?? JSON.stringify(res.refs)}`);
    fs.writeFileSync(join(this.gitdir, 'qbuild-pushed'), `${head}\n`);
    return head;
  }
}
