import { QbuildError } from '../../../errors.js';
import { commandRecipe } from './command.js';
import { debRecipe } from './deb.js';
import { rpmRecipe } from './rpm.js';
import type { RecipeJob } from './recipe.js';
import type { Artifact, Recipe } from '../pipeline/types.js';

/** Runs a component's recipe for one dist; `rpm` and `deb` build only for dists of their format. */
export async function runRecipe(recipe: Recipe, job: RecipeJob): Promise<Artifact[]> {
  if (recipe.kind !== 'command' && recipe.kind !== job.dist.format) {
    throw new QbuildError('stage', `recipe ${recipe.kind} cannot build for ${job.dist.name} (a ${job.dist.format} dist)`);
  }
  switch (recipe.kind) {
    case 'rpm': return rpmRecipe(job, recipe.spec);
    case 'deb': return debRecipe(job);
    case 'command': return commandRecipe(job, recipe.argv);
  }
}
