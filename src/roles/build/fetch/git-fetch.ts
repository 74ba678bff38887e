import * as fs from 'node:fs';
import { QbuildError, oneLine } from '../../../errors.js';
import { boundedHttp, type HttpBounds } from './bounded-http.js';

type Git = typeof import('isomorphic-git');

export interface FetchedRepo {
  gitdir: string;
  /** The commit the remote's branch points at. */
  head: string;
  /** Response bytes received (mostly the pack). */
  bytes: number;
}

/**
 * Fetches `refs/heads/<branch>` and every tag from `url` into a new bare repository at
 * `gitdir`, over smart HTTP(S) with isomorphic-git (loaded here, not at start-up). Like
 * upstream's `git clone -b`, the other branches come too (that is how git sends the tags'
 * objects in one pack); the bounds cap the whole transfer.
 */
export async function fetchBranchAndTags(gitdir: string, url: string, branch: string, bounds: HttpBounds): Promise<FetchedRepo> {
  const git = (await import('isomorphic-git')).default as unknown as Git;
  const nodeHttp = (await import('isomorphic-git/http/node')).default;
  const http = boundedHttp(nodeHttp, url, bounds);
  fs.rmSync(gitdir, { recursive: true, force: true });
  fs.mkdirSync(gitdir, { recursive: true });
  await git.init({ fs, gitdir, bare: true, defaultBranch: branch });
  await git.addRemote({ fs, gitdir, remote: 'origin', url });
  let fetchHead: string | null;
  try {
    ({ fetchHead } = await git.fetch({
      fs, http, gitdir, remote: 'origin', ref: branch, remoteRef: `refs/heads/${branch}`,
      singleBranch: false, tags: true,
      // No credentials: a source needing a password is misconfigured, not to be prompted for.
      onAuth: () => ({ cancel: true }),
    }));
    const hit = http.failure();
    if (hit) throw hit;
    if (!fetchHead) throw new QbuildError('source', `${url} has no branches (empty repository)`);
  } catch (e) {
    throw http.failure() ?? fetchError(e, url, branch);
  } finally {
    http.close();
  }
  let head: string;
  try {
    head = await git.resolveRef({ fs, gitdir, ref: `refs/remotes/origin/${branch}` });
  } catch {
    throw new QbuildError('source', `branch ${branch} not found at ${url}`);
  }
  if (head !== fetchHead) throw new QbuildError('source', `${url}: branch ${branch} resolved to two different commits`);
  const obj = await git.readObject({ fs, gitdir, oid: head, format: 'content' }).catch(() => undefined);
  if (obj?.type !== 'commit') throw new QbuildError('source', `${url}: the head ${head} of ${branch} is not a commit that was sent`);
  return { gitdir, head, bytes: http.received() };
}

/** One line naming why the fetch failed: a bound, an HTTP status, a missing branch, a refused connection. */
function fetchError(e: unknown, url: string, branch: string): QbuildError {
  if (e instanceof QbuildError) return e;
  const err = e as { code?: string; data?: { statusCode?: number; statusMessage?: string; what?: string } };
  // isomorphic-git needs the remote's HEAD to name an existing branch (it looks it up before
  // storing the pack); git itself does not.
  if (err.code === 'NotFoundError' && err.data?.what === 'HEAD') return new QbuildError('source', `cannot fetch ${url}: its HEAD names no existing branch`);
  if (err.code === 'NotFoundError') return new QbuildError('source', `branch ${branch} not found at ${url}`);
  if (err.code === 'HttpError') return new QbuildError('source', `cannot fetch ${url}: HTTP ${err.data?.statusCode ?? '?'} ${err.data?.statusMessage ?? ''}`.trim());
  const sys = (e as NodeJS.ErrnoException).code;
  if (sys && /^E[A-Z]+$/.test(sys)) return new QbuildError('source', `cannot reach ${url}: ${sys}`);
  return new QbuildError('source', `cannot fetch ${url}: ${oneLine(e)}`);
}
