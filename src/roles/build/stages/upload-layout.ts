import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { PublishedDist } from '../pipeline/types.js';

/**
 * What the upload sends for one published dist, as upstream's upload plugin lays it out
 * (qubes-builderv2 qubesbuilder/plugins/upload): paths relative to the upload target's path,
 * identical on both sides.
 *   rpm  `<repo>/<set>/<dist>`            e.g. current-testing/vm/fc42 (packages + repodata)
 *   deb  `<set>/pool`, then `<set>/dists/<suite>`   e.g. vm/pool, vm/dists/bookworm-testing
 * For deb the pool goes first: the suite's indexes must never name a file not yet there.
 */
export interface Transfer {
  /** The local tree, symlinks resolved: the remote gets its files, not the publish's swap link. */
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
 * The transfers for `p`. Rules on the publish stage's repoDir: rpm is `…/<repo>/<set>/<dist>`,
 * deb is `…/<set>/dists/<suite>` with `…/<set>/pool` beside it and a suite named `<dist>` or
 * `<dist>-<something>`; `<set>` and `<dist>` are the dist's own. Anything else is refused
 * rather than uploaded to a path the mirror's users would not look in.
 */
export function transfersFor(p: PublishedDist): Transfer[] {
  const dir = p.repoDir.replace(/\/+$/, '');
  if (p.dist.format === 'rpm') {
    const dist = basename(dir);
    const set = basename(dirname(dir));
    const repo = basename(dirname(dirname(dir)));
    const shape = `<repo>/${p.dist.set}/${p.dist.dist}`;
    if (dist !== p.dist.dist || set !== p.dist.set || !COMPONENT_RE.test(repo)) layoutError(p, shape);
    return [{ local: resolved(p, dir), remote: `${repo}/${set}/${dist}` }];
  }
  const suite = basename(dir);
  const dists = dirname(dir);
  const setDir = dirname(dists);
  const shape = `${p.dist.set}/dists/<suite of ${p.dist.dist}>`;
  const suiteOk = COMPONENT_RE.test(suite) && (suite === p.dist.dist || suite.startsWith(`${p.dist.dist}-`));
  if (!suiteOk || basename(dists) !== 'dists' || basename(setDir) !== p.dist.set) layoutError(p, shape);
  const set = p.dist.set;
  return [
    { local: resolved(p, join(setDir, 'pool')), remote: `${set}/pool` },
    { local: resolved(p, dir), remote: `${set}/dists/${suite}` },
  ];
}

function resolved(p: PublishedDist, path: string): string {
  try {
    return realpathSync(path);
  } catch {
    throw new QbuildError('stage', `cannot upload ${p.dist.name}: ${path} does not exist`);
  }
}
