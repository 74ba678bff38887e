/**
 * Rules for a component's build settings, shared by the pillar parser (dom0) and the build
 * qube's config parser: both refuse the same values. Each returns the problem as text, or
 * null when the value is fine, so the caller can prefix the key it came from.
 */

/** An OpenPGP v4 fingerprint: exactly 40 hex digits, no spaces (either case; callers upper-case it). */
export function fingerprintProblem(fpr: string): string | null {
  return /^[0-9A-Fa-f]{40}$/.test(fpr) ? null : `${JSON.stringify(fpr.slice(0, 60))}: must be a 40-hex-digit OpenPGP fingerprint`;
}

/** A Qubes release as upstream names it: `r4.3`. */
export function releaseProblem(release: string): string | null {
  return /^r[0-9]{1,3}\.[0-9]{1,3}$/.test(release) ? null : 'must look like r4.3';
}

/**
 * A branch name by git's ref-name rules (git-check-ref-format), made stricter: printable
 * ASCII only, at most 255; no space, control character, `~ ^ : ? * [ \`, `..`, `@{`, or `//`;
 * not `@`; no component starting with `.` or ending with `.lock`; not starting with `/` or
 * `-` (it would read as an option) and not ending with `/` or `.`.
 */
export function refNameProblem(ref: string): string | null {
  const why = (w: string) => `${JSON.stringify(ref.slice(0, 60))}: ${w}`;
  if (ref.length === 0 || ref.length > 255) return why('must be 1-255 characters');
  if (!/^[\x21-\x7e]+$/.test(ref)) return why('must be printable ASCII without spaces');
  if (/[~^:?*[\\]/.test(ref)) return why('must not contain ~ ^ : ? * [ or \\');
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//')) return why("must not contain '..', '@{' or '//'");
  if (ref === '@') return why("must not be '@'");
  if (ref.startsWith('/') || ref.startsWith('-') || ref.endsWith('/') || ref.endsWith('.')) {
    return why("must not start with '/' or '-', nor end with '/' or '.'");
  }
  if (ref.split('/').some((c) => c.startsWith('.') || c.endsWith('.lock'))) return why("no part may start with '.' or end with '.lock'");
  return null;
}

/**
 * A component's source URL: `https://` (or `http://`, for a local mirror or test server),
 * a host, no credentials (the build qube has none to give), no fragment or query, and at
 * most 2048 characters of printable ASCII.
 */
export function sourceUrlProblem(url: string): string | null {
  if (url.length > 2048 || !/^[\x21-\x7e]+$/.test(url)) return 'must be at most 2048 printable ASCII characters';
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an https:// or http:// URL';
  if (!u.hostname) return 'must name a host';
  if (u.username || u.password) return 'must not contain credentials';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return null;
}

/**
 * A path inside a checkout or state directory: relative, `[A-Za-z0-9_.+/-]`, no empty,
 * `.` or `..` part (it must stay inside the directory it is resolved in).
 */
export function relativePathProblem(path: string): string | null {
  if (!/^[A-Za-z0-9_.+/-]{1,255}$/.test(path)) return 'must be a relative path of A-Z a-z 0-9 _ . + / - (at most 255)';
  if (path.split('/').some((c) => c === '' || c === '.' || c === '..')) return "must not be absolute or contain empty, '.' or '..' parts";
  return null;
}

/** An absolute path (in a qube or on an upload host): `/` then `[A-Za-z0-9_.+/-]`, no `.`/`..` part. */
export function absolutePathProblem(path: string): string | null {
  if (!/^\/[A-Za-z0-9_.+/-]{0,4095}$/.test(path)) return 'must be an absolute path of A-Z a-z 0-9 _ . + / -';
  if (path.split('/').slice(1).some((c) => c === '.' || c === '..')) return "must not contain '.' or '..' parts";
  return null;
}

/** A recipe command: 1-64 arguments, each 1-4096 characters without NUL or newline. */
export function commandArgvProblem(argv: readonly string[]): string | null {
  if (argv.length === 0 || argv.length > 64) return 'must be a list of 1-64 arguments';
  if (argv.some((a) => a.length === 0 || a.length > 4096 || /[\0\n\r]/.test(a))) {
    return 'each argument must be 1-4096 characters without NUL or line breaks';
  }
  return null;
}

/** Recipe timeout bounds, in seconds: upstream's default is 6 hours; more than a week is a mistake. */
export const TIMEOUT_SECONDS = { default: 21600, max: 7 * 24 * 3600 } as const;

/** Recipe output cap bounds, in bytes: default 2 GiB, at least 1 MiB, at most 1 TiB. */
export const OUTPUT_CAP_BYTES = { default: 2 * 1024 ** 3, min: 1024 ** 2, max: 1024 ** 4 } as const;

/** Where the keys VM signs and the repository lives, relative to the build qube's state dir. */
export const DEFAULT_REPOSITORY = 'repository';

/** The BuildLog sub-directory of a build VM's public command log: `<build vm>/commands/log_...`. */
export const COMMAND_LOG_SUB = 'commands';

/**
 * A component's stage logs are stored under `<build vm>/<component>/`, so no component may be
 * named like the command log's directory (COMMAND_LOG_SUB): its logs would mix with the
 * record of who asked for what.
 */
export function reservedComponentProblem(name: string): string | null {
  return name === COMMAND_LOG_SUB ? `is reserved: ${COMMAND_LOG_SUB}/ holds the build VM's command log` : null;
}
export const DEFAULT_BRANCH = 'main';
export const DEFAULT_RELEASE = 'r4.3';
/** Upstream's source URL prefix (qubes-builderv2 `url` default): component `core-qrexec` → …/qubes-core-qrexec. */
export const DEFAULT_SOURCE_URL_PREFIX = 'https://github.com/QubesOS/qubes-';
