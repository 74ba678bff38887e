import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { collectArtifacts } from './artifacts.js';
import { outputDir, runRecipeCommand, shellScript, type RecipeJob } from './recipe.js';
import type { Artifact } from '../pipeline/types.js';

/**
 * The `deb` recipe: a source and binary build, `dpkg-buildpackage -us -uc`, so the .dsc,
 * .changes and .buildinfo exist for the sign stage (which signs them with debsign). It builds
 * a `git archive` export of the tagged commit in `<dir>/deb/SOURCE-UPSTREAM/` (dpkg-buildpackage
 * writes its results next to the tree, and the export holds no .git). A non-native format
 * (`3.0 (quilt)`, `1.0` with a revision) gets its `.orig.tar.gz` the same way, without debian/.
 */
export async function debRecipe(job: RecipeJob): Promise<Artifact[]> {
  const control = join(job.src.dir, 'debian', 'changelog');
  if (!existsSync(control) || !lstatSync(control).isFile()) throw new QbuildError('stage', 'no debian/changelog in the checkout');
  await runRecipeCommand(job, 'dpkg-buildpackage', shellScript(DEB_SCRIPT), { BUILD_DIR: join(job.dir, 'deb') });
  const artifacts = collectArtifacts(outputDir(job));
  for (const kind of ['deb', 'dsc', 'changes', 'buildinfo'] as const) {
    if (!artifacts.some((a) => a.kind === kind)) throw new QbuildError('stage', `dpkg-buildpackage produced no .${kind}`);
  }
  return artifacts;
}

/**
 * Runs in the executor (sh, `set -eu`). Name and version come from the tagged commit's
 * debian/changelog; the upstream version drops the epoch and, for non-native sources, the
 * Debian revision (text after the last `-`), as dpkg-source names the orig tarball.
 */
const DEB_SCRIPT = `set -eu
mkdir -p "$BUILD_DIR"
git --git-dir "$SOURCE_GIT_DIR" show "$COMMIT:debian/changelog" > "$TMPDIR/changelog"
src=$(dpkg-parsechangelog -l "$TMPDIR/changelog" -S Source)
ver=$(dpkg-parsechangelog -l "$TMPDIR/changelog" -S Version)
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
echo "qbuild: dpkg-buildpackage -us -uc for $src $ver ($format)"
cd "$tree"
dpkg-buildpackage -us -uc
cd "$BUILD_DIR"
find . -maxdepth 1 -type f -exec mv -t "$OUTPUT_DIR" {} +
`;
