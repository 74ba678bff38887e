import type { BuiltVersions } from '../state/built-versions.js';
import type { ComponentConfig, Dist } from './types.js';

/** The env's dists a component's recipes build for: rpm → rpm dists, deb → deb dists, command → all. */
export function recipeDists(comp: ComponentConfig, dists: Dist[]): Dist[] {
  const kinds = new Set(comp.recipes.map((r) => r.kind));
  return kinds.has('command') ? dists : dists.filter((d) => kinds.has(d.format));
}

/**
 * Rule (as upstream builderv2): a version is built for a dist only once; a dist whose
 * published version equals the tag's version is skipped, so the same trigger twice builds once.
 */
export function distsToBuild(comp: ComponentConfig, dists: Dist[], built: BuiltVersions, version: string): Dist[] {
  return recipeDists(comp, dists).filter((d) => built[d.name]?.version !== version);
}
