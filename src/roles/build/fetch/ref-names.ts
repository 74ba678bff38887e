import { QbuildError } from '../../../errors.js';

/**
 * A branch to build: `[A-Za-z0-9]` then `[A-Za-z0-9/._-]` (upstream's get-and-verify-source
 * rule), at most 255 characters, and a valid git ref name: no `..`, no `//`, no path component
 * starting with `.` or ending with `.lock`, not ending with `/` or `.`. Anything else is refused
 * before the network is touched.
 */
export function checkBranchName(branch: string): void {
  const ok = branch.length <= 255
    && /^[A-Za-z0-9][A-Za-z0-9/._-]*$/.test(branch)
    && !branch.includes('..') && !branch.includes('//')
    && !/(^|\/)\./.test(branch) && !/\.lock(\/|$)/.test(branch) && !/[/.]$/.test(branch);
  if (!ok) throw new QbuildError('source', `invalid branch name ${JSON.stringify(branch)}`);
}

/**
 * A version tag: `v`, a digit, then `[0-9A-Za-z._+-]`, at most 128 characters, no `..`, not
 * ending with `.` or `.lock`. The version is the name without its `v` (`v4.2.10-1` → `4.2.10-1`).
 * Other tags starting with `v` are not version tags and never count.
 */
export function isVersionTagName(name: string): boolean {
  return name.length <= 128 && /^v[0-9][0-9A-Za-z._+-]*$/.test(name)
    && !name.includes('..') && !name.endsWith('.') && !name.endsWith('.lock');
}

/**
 * A source URL: `http:` or `https:` (smart HTTP is the only transport), a host, and no user
 * name or password in it (the URL is written to the public log).
 */
export function checkSourceUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QbuildError('source', `invalid source URL ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new QbuildError('source', `source URL ${url}: only http: and https: are fetched`);
  if (!u.hostname) throw new QbuildError('source', `source URL ${url}: no host`);
  if (u.username || u.password) throw new QbuildError('source', `source URL ${u.host}${u.pathname}: credentials in the URL are refused`);
  return u;
}
