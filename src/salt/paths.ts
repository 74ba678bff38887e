/**
 * Where the rendered formula goes in dom0. Qubes keeps the admin's own states and pillars in
 * /srv/user_salt and /srv/user_pillar (`qubesctl top.enable NAME` looks for NAME.top there;
 * `pillar=True` for the pillar top).
 */
export const DOM0_SALT = {
  stateRoot: '/srv/user_salt',
  pillarRoot: '/srv/user_pillar',
  /** Top file and state directory name: `qubesctl top.enable qbuild`. */
  name: 'qbuild',
} as const;

/** salt:// URL of a file below the formula's files/ directory. */
export function saltUrl(rel: string): string {
  return `salt://${DOM0_SALT.name}/files/${rel}`;
}
