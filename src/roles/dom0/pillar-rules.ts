/**
 * Rules for the values a pillar names. Each returns an error text (or null when the value is
 * fine), so the pillar parser can prefix the key path. Values end up in Salt state IDs, shell
 * command lines (`qvm-volume extend`), file names and qrexec policy lines: the rules are
 * strict character sets, never escaping.
 */
import { parseListenAddress } from '../../util/listen-address.js';
import { reservedComponentProblem } from '../../protocol/build/rules.js';

/** A build environment name is 1-25 of `[a-z0-9_-]` (25 so that `build-ENV` fits Qubes' 31). */
export function envNameProblem(name: string): string | null {
  if (!/^[a-z0-9_-]+$/.test(name)) return 'allowed characters are a-z 0-9 _ -';
  if (name.length > 25) return 'longer than 25 characters (build-ENV must fit in 31)';
  return null;
}

/**
 * A VM name qbuild creates is also a Salt sls name (`qbuild.vms.NAME`), where `.` separates
 * directories: so, on top of Qubes' rules (checkVmName), no `.`.
 */
export function saltSafeVmProblem(name: string): string | null {
  return name.includes('.') ? "contains '.', which Salt reads as a directory separator" : null;
}

/** A component is 1-64 of `[A-Za-z0-9_-]` (the TriggerBuild argument rule, design §5). */
export function componentProblem(name: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) return 'must be 1-64 characters of A-Z a-z 0-9 _ -';
  return reservedComponentProblem(name);
}

/**
 * A volume size goes to `qvm-volume extend VM:private SIZE`: digits with an optional
 * binary/decimal unit (K, KB, KiB ... T, TB, TiB), nothing else.
 */
export function volumeSizeProblem(size: string): string | null {
  return /^[1-9][0-9]{0,15}([KMGT](i?B)?)?$/.test(size) ? null : 'must be a size like 20GiB';
}

/** A path inside a qube: absolute, `[A-Za-z0-9_./-]`, no `..` component. */
export function qubePathProblem(path: string): string | null {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(path)) return 'must be an absolute path of A-Z a-z 0-9 _ . / -';
  if (path.split('/').includes('..')) return "must not contain '..'";
  return null;
}

/**
 * A listen address follows parseListenAddress (src/util/listen-address.ts), the syntax the
 * qubes' own configs use; in the pillar the host is an IP literal (the sys-net deployment
 * tells loopback from a real address by it) and the port is fixed, 1-65535.
 */
export function listenProblem(listen: string): string | null {
  let a;
  try {
    a = parseListenAddress(listen);
  } catch (e) {
    return (e as Error).message;
  }
  if (a.host === 'localhost') return 'must name an IP address (127.0.0.1 rather than localhost)';
  if (a.port === 0) return 'port must be 1-65535';
  return null;
}

/** A remote URL is https:// (or http:// for a local test remote), without credentials. */
export function remoteUrlProblem(url: string): string | null {
  let u: URL;
  try { u = new URL(url); } catch { return 'not a URL'; }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an http(s) URL';
  if (u.username || u.password) return 'must not contain credentials (use token-file)';
  return null;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4,
  KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
  KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, TB: 1000 ** 4,
};

/**
 * A byte size: a whole number of bytes, or digits with a unit (B; K, M, G, T and KiB … TiB
 * are powers of 1024, as qvm-volume reads them; KB … TB powers of 1000). Returns the bytes,
 * or the problem as text.
 */
export function parseByteSize(value: string | number): number | string {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : 'must be a positive whole number of bytes';
  const m = /^([1-9][0-9]{0,15})(B|[KMGT](?:i?B)?)?$/.exec(value);
  if (!m) return 'must be a size like 2GiB';
  const bytes = Number(m[1]) * SIZE_UNITS[m[2] ?? '']!;
  return Number.isSafeInteger(bytes) ? bytes : 'too large';
}
