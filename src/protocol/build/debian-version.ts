import { QbuildError } from '../../errors.js';
import { debianRelease } from './debian-dists.js';

/**
 * Per-dist Debian versions. Two Debian dists of one package set share its pool, so one source
 * version built for bookworm and for trixie must give files of different names: each build
 * gets a changelog entry of its own, as upstream qubes-builderv2 writes it (source_deb's
 * modify-changelog-for-build: `debchange -l+<tag> "Build for <codename>"`, then
 * `debchange --force-distribution -r -D <codename>`, then the entry's date clamped to the
 * previous entry's). Pure: text in, text out.
 */

/** A Debian version, Debian Policy §5.6.12: `[epoch:]upstream_version[-debian_revision]`. */
export interface DebianVersion {
  epoch?: string;
  upstream: string;
  revision?: string;
}

const EPOCH = /^[0-9]+$/;
const UPSTREAM_WITH_REVISION = /^[0-9][A-Za-z0-9.+~-]*$/;
const UPSTREAM_NATIVE = /^[0-9][A-Za-z0-9.+~]*$/;
const REVISION = /^[A-Za-z0-9.+~]+$/;

/**
 * Parses a Debian version. Rules (Policy §5.6.12, as dpkg enforces them): at most 128
 * characters; the epoch, if any (text before the first `:`), is digits; the revision, if any,
 * is the text after the last `-`, non-empty, of alphanumerics and `+ . ~`; the upstream
 * version starts with a digit and holds alphanumerics and `. + ~`, and `-` only when there is
 * a revision. No other character (no space, no second `:`) is allowed anywhere.
 */
export function parseDebianVersion(text: string): DebianVersion {
  const bad = (why: string) => new QbuildError('bad-input', `Debian version ${JSON.stringify(text.slice(0, 60))}: ${why}`);
  if (text.length === 0 || text.length > 128) throw bad('must be 1-128 characters');
  const colon = text.indexOf(':');
  const epoch = colon >= 0 ? text.slice(0, colon) : undefined;
  if (epoch !== undefined && !EPOCH.test(epoch)) throw bad('the epoch (before ":") must be digits');
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  const revision = dash >= 0 ? rest.slice(dash + 1) : undefined;
  if (revision !== undefined && !REVISION.test(revision)) throw bad('the Debian revision (after the last "-") must be alphanumerics and "+.~"');
  if (!(revision === undefined ? UPSTREAM_NATIVE : UPSTREAM_WITH_REVISION).test(upstream)) {
    throw bad('the upstream version must start with a digit and hold only alphanumerics and ".+~" ("-" only with a revision)');
  }
  return { ...(epoch !== undefined && { epoch }), upstream, ...(revision !== undefined && { revision }) };
}

export function formatDebianVersion(v: DebianVersion): string {
  return `${v.epoch !== undefined ? `${v.epoch}:` : ''}${v.upstream}${v.revision !== undefined ? `-${v.revision}` : ''}`;
}

/**
 * The version a build for `codename` gets, debchange's `--local +<tag>` rule: a version not
 * yet holding `+<tag>` gets `+<tag>1` appended (to the revision if there is one, else to the
 * upstream version; the epoch is kept): bookworm `1.2.3-1` → `1.2.3-1+deb12u1`, trixie
 * `1:4.3` → `1:4.3+deb13u1`. A version that already holds it (a source that is itself a
 * stable update, `2.0-1+deb12u1`) has its trailing number incremented, as debchange then does
 * (`2.0-1+deb12u2`); if it does not end in a number it is refused. An unknown code name is
 * refused (debian-dists.ts).
 */
export function debianBuildVersion(version: string, codename: string): string {
  const suffix = `+${debianRelease(codename).versionTag}`;
  const v = parseDebianVersion(version);
  const noEpoch = version.slice(version.indexOf(':') + 1);
  let next: string;
  if (!noEpoch.includes(suffix)) {
    next = `${noEpoch}${suffix}1`;
  } else {
    const m = /^(.*?)([0-9]+)$/.exec(noEpoch);
    if (!m) throw new QbuildError('bad-input', `Debian version ${JSON.stringify(version)} holds ${suffix} but does not end in a number to increment`);
    next = `${m[1]}${BigInt(m[2]!) + 1n}`;
  }
  return `${v.epoch !== undefined ? `${v.epoch}:` : ''}${next}`;
}

/** What a build's changelog entry needs from the changelog it is added to. */
export interface ChangelogTop {
  source: string;
  version: string;
  /** `Name <email>`, as the top entry's trailer line has it. */
  maintainer: string;
  /** The top entry's date, as its trailer line has it (RFC 5322 form). */
  date: string;
}

/** A Debian source package name (Policy §5.6.1): lower-case alphanumerics and `+-.`, at least two, starting alphanumeric. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** deb-changelog(5) first line: `package (version) distribution(s); metadata`. */
const HEADER = /^(\S+) \(([^()\s]+)\) [A-Za-z0-9][A-Za-z0-9 ._+-]*;[^\x00-\x1f\x7f]*$/;
/** deb-changelog(5) trailer: ` -- maintainer <email>` two spaces, then the date. */
const TRAILER = /^ -- ([^\x00-\x1f\x7f<>]+ <[^\x00-\x1f\x7f<>]+>) {2}([^\x00-\x1f\x7f]+)$/;

/**
 * Reads the top entry of a debian/changelog. Rules (deb-changelog(5)): the first line is the
 * entry's header, `source (version) distributions; metadata`, with a valid source name and
 * version (parseDebianVersion); the first line starting ` -- ` is its trailer,
 * `-- Name <email>`, two spaces, the date; no control characters in either.
 */
export function readChangelogTop(text: string): ChangelogTop {
  const lines = text.split('\n');
  const bad = (why: string) => new QbuildError('bad-input', `debian/changelog: ${why}`);
  const h = HEADER.exec(lines[0] ?? '');
  if (!h) throw bad('the first line must be "source (version) distribution; urgency=…"');
  if (!SOURCE_NAME.test(h[1]!)) throw bad(`${JSON.stringify(h[1]!.slice(0, 60))} is not a Debian source package name`);
  parseDebianVersion(h[2]!);
  const trailer = lines.find((l) => l.startsWith(' -- '));
  const t = trailer === undefined ? null : TRAILER.exec(trailer);
  if (!t) throw bad('the top entry has no " -- Name <email>  date" trailer line');
  return { source: h[1]!, version: h[2]!, maintainer: t[1]!, date: t[2]! };
}

/**
 * The entry a build for `codename` puts on top of the changelog, as upstream's two debchange
 * calls leave it: the per-dist version, the code name as the distribution, `urgency=medium`,
 * one `* Build for <codename>` line, the top entry's maintainer and (clamped, for a
 * reproducible build) its date.
 */
export function distChangelogEntry(top: ChangelogTop, codename: string): { version: string; entry: string } {
  const version = debianBuildVersion(top.version, codename);
  const entry = `${top.source} (${version}) ${codename}; urgency=medium\n\n  * Build for ${codename}\n\n -- ${top.maintainer}  ${top.date}\n\n`;
  return { version, entry };
}
