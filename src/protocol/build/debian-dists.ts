import { QbuildError } from '../../errors.js';

/**
 * The Debian and Ubuntu releases qbuild builds for, by code name (the `<dist>` of `vm-<dist>`,
 * also the changelog distribution and the base of the repository suite names).
 *
 * Source: qubes-builderv2 qubesbuilder/distribution.py (its DEBIAN and UBUNTU tables and
 * QubesDistribution.tag): a Debian release's version tag is `deb<N>u` (bookworm → deb12u,
 * the form of Debian's own stable updates, `+deb12u1`); an Ubuntu release's is its code name.
 * One table: dist.ts takes its list of Debian dist names from here.
 */
export interface DebianRelease {
  vendor: 'Debian' | 'Ubuntu';
  /** The release's number: `12`, `24.04`. */
  version: string;
  /** What a build for this release appends to the version, before its counter: `deb12u`, `noble`. */
  versionTag: string;
}

export const DEBIAN_RELEASES = {
  bullseye: { vendor: 'Debian', version: '11', versionTag: 'deb11u' },
  bookworm: { vendor: 'Debian', version: '12', versionTag: 'deb12u' },
  trixie: { vendor: 'Debian', version: '13', versionTag: 'deb13u' },
  forky: { vendor: 'Debian', version: '14', versionTag: 'deb14u' },
  jammy: { vendor: 'Ubuntu', version: '22.04', versionTag: 'jammy' },
  noble: { vendor: 'Ubuntu', version: '24.04', versionTag: 'noble' },
} as const satisfies Record<string, DebianRelease>;

export type DebianCodename = keyof typeof DEBIAN_RELEASES;

/** The code names, in the table's order (oldest Debian first, then Ubuntu). */
export const DEBIAN_CODENAMES = Object.keys(DEBIAN_RELEASES) as DebianCodename[];

/** Rule: only a code name of DEBIAN_RELEASES is a Debian dist; anything else is refused, naming the known ones. */
export function debianRelease(codename: string): DebianRelease {
  if (!Object.hasOwn(DEBIAN_RELEASES, codename)) {
    throw new QbuildError('bad-input', `${JSON.stringify(codename.slice(0, 40))}: not a Debian or Ubuntu release qbuild builds for (${DEBIAN_CODENAMES.join(', ')})`);
  }
  return DEBIAN_RELEASES[codename as DebianCodename];
}
