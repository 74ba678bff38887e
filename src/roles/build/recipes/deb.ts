import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { distChangelogEntry, readChangelogTop, type ChangelogTop } from '../../../protocol/build/debian-version.js';
import { collectArtifacts } from './artifacts.js';
import { outputDir, runRecipeCommand, shellScript, type RecipeJob } from './recipe.js';
import type { Artifact } from '../pipeline/types.js';

/**
 * The `deb` recipe: a source and binary build, `dpkg-buildpackage -us -uc`, so the .dsc,
 * .changes and .buildinfo exist for the sign stage (which signs them with debsign). It builds
 * a `git archive` export of the tagged commit in `<dir>/deb/SOURCE-UPSTREAM/` (dpkg-buildpackage
 * writes its results next to the tree, and the export holds no .git). A non-native format
 * (`3.0 (quilt)`, `1.0` with a revision) gets its `.orig.tar.gz` the same way, without debian/.
 * Before the build the export's changelog gets the dist's own entry (debian-version.ts:
 * `1.2.3-1` → `1.2.3-1+deb12u1` for bookworm), so the dists of one package set, which share
 * its pool, publish files of different names; the orig tarball keeps its name and bytes.
 */
export async function debRecipe(job: RecipeJob): Promise<Artifact[]> {
  const changelog = join(job.src.dir, 'debian', 'changelog');
  if (!existsSync(changelog) || !lstatSync(changelog).isFile()) throw new QbuildError('stage', 'no debian/changelog in the checkout');
  // latin1 both ways: the maintainer's name goes into the entry byte for byte, whatever its encoding.
  const { top, version, entry } = distEntry(readFileSync(changelog, 'latin1'), job.dist.dist);
  mkdirSync(job.dir, { recursive: true, mode: 0o700 });
  const entryFile = join(job.dir, 'changelog-entry');
  writeFileSync(entryFile, Buffer.from(entry, 'latin1'), { mode: 0o600 });
  await runRecipeCommand(job, 'dpkg-buildpackage', shellScript(DEB_SCRIPT), {
    BUILD_DIR: join(job.dir, 'deb'), DEB_SOURCE_VERSION: top.version, DEB_BUILD_VERSION: version, DEB_CHANGELOG_ENTRY: entryFile,
  });
  const artifacts = collectArtifacts(outputDir(job));
  for (const kind of ['deb', 'dsc', 'changes', 'buildinfo'] as const) {
    if (!artifacts.some((a) => a.kind === kind)) throw new QbuildError('stage', `dpkg-buildpackage produced no .${kind}`);
  }
  return artifacts;
}

/** The dist's changelog entry; a changelog or version it cannot be made from fails the stage. */
function distEntry(changelog: string, codename: string): { top: ChangelogTop; version: string; entry: string } {
  try {
    const top = readChangelogTop(changelog);
    return { top, ...distChangelogEntry(top, codename) };
  } catch (e) {
    if (e instanceof QbuildError) throw new QbuildError('stage', e.message);
    throw e;
  }
}

/**
 * Runs in the executor (sh, `set -eu`). Name and version come from the tagged commit's
 * debian/changelog, which must carry the version the checkout's did (DEB_SOURCE_VERSION: the
 * entry was made from the checkout's); the upstream version drops the epoch and, for
 * non-native sources, the Debian revision (text after the last `-`), as dpkg-source names the
 * orig tarball. The dist's entry goes on top of the export's changelog, its mtime the
 * entry's (clamped) date, as upstream's clamp-changelog-entry-date leaves it.
 */
const DEB_SCRIPT = `set -eu
mkdir -p "$BUILD_DIR"
git --git-dir "$SOURCE_GIT_DIR" show "$COMMIT:debian/changelog" > "$TMPDIR/changelog"
src=$(dpkg-parsechangelog -l "$TMPDIR/changelog" -S Source)
ver=$(dpkg-parsechangelog -l "$TMPDIR/changelog" -S Version)
if [ "$ver" != "$DEB_SOURCE_VERSION" ]; then
  echo "qbuild: debian/changelog of $COMMIT says $ver, the checkout's says $DEB_SOURCE_VERSION" >&2
  exit 1
fi
format=$(git --git-dir "$SOURCE_GIT_DIR" show "$COMMIT:debian/source/format" 2>/dev/null || echo 1.0)
upstream=\${ver#*:}
case "$format" in
  "3.0 (native)") native=yes ;;
  *) case "$upstream" in *-*) native=no; upstream=\${upstream%-*} ;; *) native=yes ;; esac ;;
esac
tree="$BUILD_DIR/$src-$upstream"
mkdir "$tree"
git --git-dir "$SOURCE_GIT_DIR" archive "$COMMIT" | tar -x -C "$tree"
if [ "$native" = no ]; then
  echo "qbuild: $format source: \${src}_$upstream.orig.tar.gz = git archive $COMMIT without debian/"
  git --git-dir "$SOURCE_GIT_DIR" archive --format=tar.gz --prefix="$src-$upstream/" -o "$BUILD_DIR/\${src}_$upstream.orig.tar.gz" "$COMMIT" -- . ':(exclude)debian'
fi
cat "$DEB_CHANGELOG_ENTRY" "$TMPDIR/changelog" > "$tree/debian/changelog"
touch --date="$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Date)" "$tree/debian/changelog"
echo "qbuild: changelog entry $DEB_BUILD_VERSION for $DIST ($ver + the dist's suffix)"
echo "qbuild: dpkg-buildpackage -us -uc for $src $DEB_BUILD_VERSION ($format)"
cd "$tree"
dpkg-buildpackage -us -uc
cd "$BUILD_DIR"
find . -maxdepth 1 -type f -exec mv -t "$OUTPUT_DIR" {} +
`;
