import { QbuildError } from '../../../errors.js';
import { collectArtifacts } from './artifacts.js';
import { outputDir, runRecipeCommand, type RecipeJob } from './recipe.js';
import type { Artifact } from '../pipeline/types.js';

/**
 * The `command` recipe: the configured command line (e.g. qubes-builderv2's `qb`), run as is,
 * with SOURCE_DIR (the checkout), OUTPUT_DIR (where it must leave its packages) and DIST in its
 * environment, and the build dir as its working directory. Whatever it leaves in OUTPUT_DIR
 * (subdirectories included) is the result; it must hold at least one package.
 */
export async function commandRecipe(job: RecipeJob, argv: readonly string[]): Promise<Artifact[]> {
  if (argv.length === 0) throw new QbuildError('config', 'recipe command is empty');
  await runRecipeCommand(job, argv[0]!, [...argv]);
  const artifacts = collectArtifacts(outputDir(job));
  if (!artifacts.some((a) => a.kind === 'rpm' || a.kind === 'deb')) {
    throw new QbuildError('stage', `${argv[0]} left no .rpm or .deb in OUTPUT_DIR`);
  }
  return artifacts;
}
