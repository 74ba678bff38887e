import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { PublishedDist } from '../pipeline/types.js';
import { debSuite } from '../repo/deb-repo.js';

/**
 * What the upload sends for one published dist, as upstream's upload plugin lays it out
 * (qubes-builderv2 qubesbuilder/plugins/upload): paths relative to the upload target's path,
 * identical on both sides (docs/upload.md).
 *   rpm  `<repo>/<set>/<dist>`                      e.g. current-testing/vm/fc42 (packages + repodata)
 *   deb  `<set>/pool`, then `<set>/dists/<suite>`   e.g. vm/pool, vm/dists/bookworm-testing
 * (a promotion's suite is its repository's: `bookworm`, `bookworm-securitytesting`).
 * For deb the pool goes first: the suite's indexes must never name a file not yet there.
 */
export interface Transfer {
  /** A directory inside the resolved published tree: the remote gets files, not the swap link. */
  local: string;
  /** Relative to the upload target's path. */
  remote: string;
}

/** A path component of the layout: `[A-Za-z0-9_.-]`, not `.`/`..` (it is also a remote path). */
const COMPONENT_RE = /^(?!\.\.?$)[A-Za-z0-9_.-]+$/;

function layoutError(p: PublishedDist, shape: string): never {
  throw new QbuildError('stage', `cannot upload ${p.dist.name}: ${p.repoDir} is not laid out as ${shape}`);
}

/**
 * The transfers for `p`, the publish stage's repoDir (a symlink to the live tree, repo/):
 * rpm is `…/<repo>/<set>/<dist>`; deb is `…/<set>` holding `pool/` and `dists/<suite>`;
 * `<set>` and `<dist>` are the dist's own. The link is resolved once, so every transfer of a
 * dist comes from the same tree even if a later publication swaps the link meanwhile.
 * Anything else is refused rather than uploaded where the mirror's users would not look.
 */
export function transfersFor(p: PublishedDist): Transfer[] {
  const dir = p.repoDir.replace(/\/+$/, '');
  if (p.dist.format === 'rpm') {
    const repo = basename(dirname(dirname(dir)));
    const ok = basename(dir) === p.dist.dist && basename(dirname(dir)) === p.dist.set && COMPONENT_RE.test(repo);
    if (!ok) layoutError(p, `<repo>/${p.dist.set}/${p.dist.dist}`);
    return [{ local: resolved(p, dir), remote: `${repo}/${p.dist.set}/${p.dist.dist}` }];
  }
  if (basename(dir) !== p.dist.set) layoutError(p, `<root>/${p.dist.set}`);
  const tree = resolved(p, dir);
  const suite = debSuite(p.dist, p.repository);
  for (const sub of ['pool', `dists/${suite}`]) {
    if (!existsSync(join(tree, sub))) throw new QbuildError('stage', `cannot upload ${p.dist.name}: ${p.repoDir} has no ${sub}`);
  }
  return [
    { local: join(tree, 'pool'), remote: `${p.dist.set}/pool` },
    { local: join(tree, 'dists', suite), remote: `${p.dist.set}/dists/${suite}` },
  ];
}

function resolved(p: PublishedDist, path: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new QbuildError('stage', `cannot upload ${p.dist.name}: ${path} does not exist`);
  }
}
