import { QbuildError } from '../../errors.js';
import { field, parseParagraphs } from './control.js';

/**
 * A suite's Release file (the text InRelease clearsigns), as far as a chain of digests from
 * the signature down to one .deb needs it (Debian wiki "DebianRepository/Format", section
 * Release). Pure.
 */
export interface ReleaseIndex {
  suite?: string;
  codename?: string;
  /** The SHA256 field: each index file the suite lists, by its path under dists/<suite>/. */
  sha256: ReleaseFile[];
}

export interface ReleaseFile {
  sha256: string;
  size: number;
  path: string;
}

/** One line of a Release SHA256 field: ` <64 hex> <size> <path>`, separated by blanks. */
const SHA256_LINE = /^[ \t]+([0-9a-f]{64})[ \t]+(\d{1,15})[ \t]+(\S+)$/;
/** A path under dists/<suite>/: relative, `/`-separated names, none empty, `.` or `..`. */
const INDEX_PATH = /^(?!.*(?:^|\/)\.{1,2}(?:\/|$))[A-Za-z0-9_.+~-]+(?:\/[A-Za-z0-9_.+~-]+)*$/;

/**
 * Parses a Release file. Rules:
 * - exactly one deb822 paragraph (control.ts's rules), and it has a SHA256 field whose first
 *   line is empty; MD5Sum and SHA1 are not read (apt no longer trusts them);
 * - each following line is `<sha256> <size> <path>` (lower-case hex, a decimal size, a path
 *   as INDEX_PATH allows); any other line is refused, naming it;
 * - a path listed twice is refused: which digest would count?
 */
export function parseRelease(text: string): ReleaseIndex {
  const ps = parseParagraphs(text);
  if (ps.length !== 1) throw new QbuildError('bad-input', `Release: ${ps.length} paragraphs, expected one`);
  const p = ps[0]!;
  const field256 = field(p, 'SHA256');
  if (field256 === undefined) throw new QbuildError('bad-input', 'Release: no SHA256 field');
  const [first, ...lines] = field256.split('\n');
  if (first !== '') throw new QbuildError('bad-input', `Release: SHA256 field starts with ${JSON.stringify(first!.slice(0, 40))} on its own line`);
  const seen = new Set<string>();
  const sha256 = lines.map((line) => {
    const m = SHA256_LINE.exec(line);
    if (!m || !INDEX_PATH.test(m[3]!)) throw new QbuildError('bad-input', `Release: SHA256 line not understood: ${JSON.stringify(line.slice(0, 120))}`);
    if (seen.has(m[3]!)) throw new QbuildError('bad-input', `Release: ${m[3]} listed twice in SHA256`);
    seen.add(m[3]!);
    return { sha256: m[1]!, size: Number(m[2]), path: m[3]! };
  });
  if (sha256.length === 0) throw new QbuildError('bad-input', 'Release: the SHA256 field lists no file');
  const suite = field(p, 'Suite');
  const codename = field(p, 'Codename');
  return { sha256, ...(suite === undefined ? {} : { suite }), ...(codename === undefined ? {} : { codename }) };
}

/** Is `path` (from a Release) a binary package index apt reads: `<component>/binary-<arch>/Packages[.gz|.xz]`? */
export function isPackagesIndex(path: string): boolean {
  return /^[^/]+\/binary-[a-z0-9-]+\/Packages(?:\.gz|\.xz)?$/.test(path);
}
