import { QbuildError } from '../../../errors.js';
import type { ComponentConfig, Dist, Recipe } from './types.js';

/**
 * The recipe that builds `comp` for `dist`: the component's recipe of the dist's package
 * format, else its `command` recipe (which builds for any dist).
 */
export function recipeFor(comp: ComponentConfig, dist: Dist): Recipe {
  const r = comp.recipes.find((x) => x.kind === dist.format) ?? comp.recipes.find((x) => x.kind === 'command');
  if (!r) throw new QbuildError('config', `${comp.name} has no recipe for ${dist.name} (${dist.format})`);
  return r;
}
