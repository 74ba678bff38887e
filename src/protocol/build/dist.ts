import { DEBIAN_CODENAMES } from './debian-dists.js';

/**
 * Distribution names as upstream qubes-builderv2 writes them: `host-fc41` (dom0 packages),
 * `vm-fc42`, `vm-bookworm` (template packages). Pure: a name in, its parts out.
 */
export type DistFormat = 'rpm' | 'deb';

export interface DistName {
  /** The full name, e.g. `vm-fc42`. */
  name: string;
  set: 'host' | 'vm';
  /** The distribution proper, e.g. `fc42`, `bookworm`. */
  dist: string;
  format: DistFormat;
}

/** Debian and Ubuntu code names qbuild builds for (their repository suite names): debian-dists.ts's table. */
export const DEB_DISTS: readonly string[] = DEBIAN_CODENAMES;

/** RPM distributions: Fedora `fcNN`, CentOS Stream `centos-streamN`, Enterprise Linux `elN`. */
const RPM_DIST_RE = /^(fc[1-9][0-9]{1,2}|centos-stream[1-9][0-9]?|el[1-9][0-9]?)$/;

/**
 * Parses `(host|vm)-<dist>`. Rules: `<dist>` is an RPM name (`fcNN`, `centos-streamN`, `elN`)
 * or one of DEB_DISTS; `host-` takes RPM dists only (dom0 is Fedora-based, it installs no
 * .deb). Returns the problem as text (so a caller can prefix where the name came from).
 */
export function parseDistName(name: string): DistName | string {
  const m = /^(host|vm)-(.+)$/.exec(name);
  if (!m) return `${JSON.stringify(name.slice(0, 40))}: must be host-<dist> or vm-<dist>`;
  const set = m[1] as 'host' | 'vm';
  const dist = m[2]!;
  let format: DistFormat;
  if (RPM_DIST_RE.test(dist)) format = 'rpm';
  else if (DEB_DISTS.includes(dist)) format = 'deb';
  else return `${JSON.stringify(name.slice(0, 40))}: unknown distribution (fcNN, centos-streamN, elN, ${DEB_DISTS.join(', ')})`;
  if (set === 'host' && format === 'deb') return `${JSON.stringify(name)}: dom0 (host) packages are rpm only`;
  return { name, set, dist, format };
}

/** Whether one of a component's recipes builds for a format: `command` can build for any dist. */
export function recipesBuildFor(kinds: readonly ('rpm' | 'deb' | 'command')[], format: DistFormat): boolean {
  return kinds.some((k) => k === 'command' || k === format);
}
