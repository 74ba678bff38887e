import { existsSync, lstatSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { collectArtifacts } from './artifacts.js';
import { renderSpecIn } from './spec-in.js';
import { outputDir, runRecipeCommand, shellScript, type RecipeJob } from './recipe.js';
import type { Artifact, Dist } from '../pipeline/types.js';

/**
 * The `rpm` recipe: Source0 is a `git archive` of the tagged commit, prefixed `NAME-VERSION/`
 * (what `%setup` expects), then `rpmbuild -ba` with `_topdir` inside the build dir. The spec is
 * parsed by rpmspec inside the executor, because expanding a spec runs its shell macros:
 * that is the component's code, not ours. Results: the binary RPMs and the SRPM.
 */
export async function rpmRecipe(job: RecipeJob, specPath?: string): Promise<Artifact[]> {
  const found = findSpec(job.src.dir, specPath);
  const spec = found.endsWith('.spec.in') ? renderSpecIn(job.src.dir, found, job.src.version, join(job.dir, 'SPECS')) : found;
  await runRecipeCommand(job, 'rpmbuild', shellScript(RPM_SCRIPT), {
    SPEC: spec,
    TOPDIR: join(job.dir, 'rpmbuild'),
    RPM_DIST_TAG: rpmDistTag(job.dist),
  });
  const artifacts = collectArtifacts(outputDir(job));
  if (!artifacts.some((a) => a.kind === 'rpm')) throw new QbuildError('stage', 'rpmbuild produced no binary RPM');
  return artifacts;
}

/** rpm's `%{dist}` for a dist: `.fc42`, `.el9` (CentOS Stream 9 builds as el9, as Fedora's mock does). */
export function rpmDistTag(dist: Dist): string {
  const stream = /^centos-stream([0-9]+)$/.exec(dist.dist);
  return `.${stream ? `el${stream[1]}` : dist.dist}`;
}

/**
 * The spec to build, as an absolute path inside the checkout: a `*.spec`, or a Qubes `*.spec.in`
 * template (./spec-in.ts). Rules: a configured `spec` is a relative path without `..`
 * components naming a regular file that stays inside the checkout after resolving symlinks;
 * without one, the checkout must hold exactly one spec or template at its top level or,
 * failing that, in `rpm_spec/` (the Qubes layout).
 */
export function findSpec(checkout: string, configured?: string): string {
  if (configured !== undefined) {
    if (configured === '' || configured.startsWith('/') || configured.split('/').includes('..')) {
      throw new QbuildError('stage', `recipe spec ${JSON.stringify(configured)} must be a relative path inside the checkout`);
    }
    const path = join(checkout, configured);
    if (!existsSync(path) || !lstatSync(path).isFile()) throw new QbuildError('stage', `recipe spec ${configured} is not a file in the checkout`);
    const real = relative(realpathSync(checkout), realpathSync(path));
    if (real.startsWith(`..${sep}`) || real === '..') throw new QbuildError('stage', `recipe spec ${configured} leads outside the checkout`);
    return path;
  }
  for (const dir of ['', 'rpm_spec']) {
    const full = join(checkout, dir);
    if (!existsSync(full) || !lstatSync(full).isDirectory()) continue;
    const specs = readdirSync(full).filter((n) => /\.spec(\.in)?$/.test(n) && lstatSync(join(full, n)).isFile());
    if (specs.length === 1) return join(full, specs[0]!);
    if (specs.length > 1) throw new QbuildError('stage', `several specs in ${dir || 'the checkout'} (${specs.join(', ')}): set the recipe's spec`);
  }
  throw new QbuildError('stage', 'no *.spec or *.spec.in in the checkout or rpm_spec/: set the recipe\'s spec');
}

/**
 * Runs in the executor (sh, `set -eu`). Source0's file name comes from the expanded spec
 * (`rpmspec -P`), its compression from that name: git archive writes .tar.gz/.tgz itself and
 * .tar.xz/.tar.bz2 through the configured filter. TMPDIR also holds rpmbuild's scripts.
 */
const RPM_SCRIPT = String.raw`set -eu
mkdir -p "$TOPDIR/SOURCES"
nv=$(rpmspec -q --srpm --qf '%{name}-%{version}\n' "$SPEC" | head -n 1)
source0=$(rpmspec -P "$SPEC" | sed -n 's/^[Ss][Oo][Uu][Rr][Cc][Ee]0\{0,1\}:[[:space:]]*//p' | head -n 1)
tarball=$(basename "$source0")
if [ -z "$nv" ] || [ -z "$tarball" ]; then
  echo "qbuild: the spec names no Name/Version or no Source0" >&2
  exit 1
fi
echo "qbuild: Source0 $tarball = git archive $COMMIT, prefix $nv/"
git -c tar.tar.xz.command='xz -c' -c tar.tar.bz2.command='bzip2 -c' --git-dir "$SOURCE_GIT_DIR" \
  archive --prefix="$nv/" -o "$TOPDIR/SOURCES/$tarball" "$COMMIT"
rpmbuild -ba --define "_topdir $TOPDIR" --define "_tmppath $TMPDIR" --define "dist $RPM_DIST_TAG" "$SPEC"
find "$TOPDIR/RPMS" "$TOPDIR/SRPMS" -type f -name '*.rpm' -exec mv -t "$OUTPUT_DIR" {} +
`;
