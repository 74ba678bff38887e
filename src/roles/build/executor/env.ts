/**
 * The whole environment a recipe gets: a fixed PATH, its own HOME and TMPDIR inside the job,
 * LANG=C.UTF-8, and the recipe's own variables. Nothing of the build daemon's environment
 * (qrexec variables, QBUILD_*, the sim's paths) reaches untrusted code.
 */
export const RECIPE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function recipeEnv(dirs: { home: string; tmp: string }, vars: Record<string, string> = {}): Record<string, string> {
  return { ...vars, PATH: RECIPE_PATH, HOME: dirs.home, LANG: 'C.UTF-8', TMPDIR: dirs.tmp };
}
