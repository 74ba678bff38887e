import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { QbuildError } from '../../../errors.js';
import { debianRelease } from '../../../protocol/build/debian-dists.js';
import type { Dist, StageContext } from '../pipeline/types.js';
import { field, formatParagraphs, parseParagraphs, type Paragraph } from '../../../protocol/deb/control.js';
import type { MetadataSignature } from './metadata-signature.js';
import { TESTING, type Repository } from './repositories.js';
import { mustRun } from './sign-tool.js';
import { linkOrCopy, replaceFile, type StagedTree } from './tree-swap.js';

/**
 * Debian repository layout, as upstream's publish_deb (qubes-builderv2
 * qubesbuilder/plugins/publish_deb and its create-skeleton: one pool per package set, one
 * suite per repository, `<codename>-testing` for current-testing):
 *
 *   {root}/deb/{release}/{host|vm}                                   → symlink (tree-swap.ts)
 *   {root}/deb/{release}/{host|vm}/pool/main/{p}/{source}/…          .deb .dsc sources .buildinfo
 *   {root}/deb/{release}/{host|vm}/dists/{codename}-testing/Release, InRelease, Release.gpg
 *   {root}/deb/{release}/{host|vm}/dists/{codename}-testing/main/binary-amd64/Packages{,.gz}
 *   {root}/deb/{release}/{host|vm}/dists/{codename}-testing/main/source/Sources{,.gz}
 *
 * Upstream runs reprepro; reprepro cannot use another gpg program, so upstream signs the
 * Release by hand, as we do. We build the indices with apt-ftparchive (which reads the
 * packages themselves) and merge them per suite: the pool is shared by every suite of the
 * set, and a suite's own Packages/Sources is its record of what it holds.
 */
export const DEB_COMPONENT = 'main';
export const DEB_ARCHITECTURES = ['amd64'] as const;

/** The published path of a dist's Debian package set (pool + dists). */
export function debRepoLink(root: string, release: string, dist: Dist): string {
  return join(root, 'deb', release, dist.set);
}

/**
 * The suite a repository publishes to, upstream's naming (publish_deb
 * get_debian_suite_from_repository_publish): current-testing `bookworm-testing`, current
 * `bookworm`, security-testing `bookworm-securitytesting`.
 */
export function debSuite(dist: Dist, repository: Repository = TESTING): string {
  const suffix = { 'current-testing': '-testing', current: '', 'security-testing': '-securitytesting' }[repository];
  return `${dist.dist}${suffix}`;
}

/** The staged copy leaves out this suite's old Release and signatures: they are regenerated. */
export function debSkip(dist: Dist, repository: Repository = TESTING): (rel: string) => boolean {
  const prefix = `dists/${debSuite(dist, repository)}/`;
  return (rel) => rel === `${prefix}Release` || rel === `${prefix}InRelease` || rel === `${prefix}Release.gpg`;
}

/**
 * The text of a possibly clearsigned control file. Rule (RFC 4880 §7): after the
 * `-----BEGIN PGP SIGNED MESSAGE-----` line come armor headers up to a blank line, then the
 * dash-escaped text up to the `-----BEGIN PGP SIGNATURE-----` line; a file that starts
 * otherwise is taken as unsigned text. A signed file without its signature line is refused.
 */
export function clearsignedText(text: string): string {
  if (!text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\n')) return text;
  const lines = text.split('\n');
  let i = 1;
  while (i < lines.length && lines[i] !== '') i++;
  const end = lines.indexOf('-----BEGIN PGP SIGNATURE-----', i);
  if (end < 0) throw new QbuildError('bad-input', 'clearsigned file without a signature');
  return `${lines.slice(i + 1, end).map((l) => (l.startsWith('- ') ? l.slice(2) : l)).join('\n')}\n`;
}

/** A Debian source package name (Debian Policy §5.6.1): lower-case alphanumerics and `+-.`, at least two, starting alphanumeric. */
const SOURCE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** A file name a .dsc may list: no directory part, no leading dot (it becomes a path in the pool). */
const POOL_FILE = /^[A-Za-z0-9][A-Za-z0-9+._~-]*$/;

/** What the pool needs from a .dsc: the source name and the files it lists (beside it). */
export function readDsc(path: string): { source: string; files: string[] } {
  const [p] = parseParagraphs(clearsignedText(readFileSync(path, 'latin1')));
  const source = p && field(p, 'Source');
  if (!source || !SOURCE_NAME.test(source)) throw new QbuildError('bad-input', `${basename(path)}: no valid Source field`);
  const files = (field(p, 'Files') ?? '').split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const name = l.split(/\s+/)[2];
    if (!name || !POOL_FILE.test(name)) throw new QbuildError('bad-input', `${basename(path)}: bad Files line ${JSON.stringify(l)}`);
    return name;
  });
  if (!files.length) throw new QbuildError('bad-input', `${basename(path)}: lists no files`);
  return { source, files };
}

/** Pool directory of a source package (reprepro's and dak's rule: `lib` + its 4th letter for lib*, else the 1st letter). */
export function poolDir(source: string): string {
  const prefix = source.startsWith('lib') && source.length > 3 ? source.slice(0, 4) : source[0]!;
  return `pool/${DEB_COMPONENT}/${prefix}/${source}`;
}

export interface DebFiles {
  debs: string[];
  dsc?: string;
  buildinfo?: string;
}

/**
 * Merges new index paragraphs into an old index: an old paragraph whose key equals a new
 * one's is replaced (a newer build of the same package in the same suite, as reprepro
 * include does); the rest keep their order, new ones follow.
 */
function merge(old: Paragraph[], added: Paragraph[], key: (p: Paragraph) => string): Paragraph[] {
  const keys = new Set(added.map(key));
  return [...old.filter((p) => !keys.has(key(p))), ...added];
}

function readIndex(path: string): Paragraph[] {
  return existsSync(path) ? parseParagraphs(readFileSync(path, 'utf8')) : [];
}

function writeIndex(path: string, ps: Paragraph[]): void {
  const text = Buffer.from(formatParagraphs(ps));
  replaceFile(path, text);
  replaceFile(`${path}.gz`, gzipSync(text, { level: 9 }));
}

/** Every pool file the other suites of the set list (Packages `Filename`, Sources `Directory` + `Files`). */
function referencedElsewhere(tree: StagedTree, suite: string): Map<string, string> {
  const refs = new Map<string, string>();
  const dists = join(tree.dir, 'dists');
  if (!existsSync(dists)) return refs;
  for (const other of readdirSync(dists)) {
    if (other === suite) continue;
    for (const p of readIndex(join(dists, other, DEB_COMPONENT, `binary-${DEB_ARCHITECTURES[0]}`, 'Packages'))) {
      const f = field(p, 'Filename');
      if (f) refs.set(f, other);
    }
    for (const p of readIndex(join(dists, other, DEB_COMPONENT, 'source', 'Sources'))) {
      const dir = field(p, 'Directory');
      for (const l of (field(p, 'Files') ?? '').split('\n')) {
        const name = l.trim().split(/\s+/)[2];
        if (dir && name) refs.set(`${dir}/${name}`, other);
      }
    }
  }
  return refs;
}

/**
 * Puts `src` in the staged pool as `rel/<name>`. Rule: a pool file another suite lists is
 * never replaced by different bytes (that suite's index would then name a checksum the
 * file no longer has); versions must differ per dist, as upstream's `+debNNuM` suffixes do.
 * A file no other suite lists is replaced (a rebuild of the same version for this suite).
 */
function intoPool(tree: StagedTree, rel: string, src: string, others: Map<string, string>): void {
  const name = `${rel}/${basename(src)}`;
  const dst = join(tree.dir, name);
  mkdirSync(dirname(dst), { recursive: true });
  if (existsSync(dst)) {
    if (readFileSync(dst).equals(readFileSync(src))) return;
    const suite = others.get(name);
    if (suite) throw new QbuildError('stage', `${name} is published for ${suite} with other content: give each dist its own version`);
    unlinkSync(dst);
  }
  linkOrCopy(src, dst);
}

/**
 * Adds a dist's packages to the staged set and regenerates its suite: the pool files, the
 * suite's Packages and Sources (apt-ftparchive over the source's pool directory, keeping only
 * the files just added, merged into the suite's old index), and a new Release. Returns the
 * two signatures apt reads: InRelease (clearsigned) and Release.gpg (detached, armored).
 * Rules: every .deb must be indexed (else apt-ftparchive could not read it) and be of
 * architecture `all` or one the repository serves (DEB_ARCHITECTURES); the .dsc must be
 * indexed exactly once.
 */
export async function stageDeb(ctx: StageContext, tree: StagedTree, release: string, dist: Dist, files: DebFiles): Promise<MetadataSignature[]> {
  const dsc = files.dsc ? readDsc(files.dsc) : undefined;
  const source = dsc?.source ?? sourceOfDeb(files.debs[0]);
  const pool = poolDir(source);
  const suite = debSuite(dist);
  const others = referencedElsewhere(tree, suite);
  const added = new Set<string>();
  const add = (src: string) => { intoPool(tree, pool, src, others); added.add(`${pool}/${basename(src)}`); };
  for (const d of files.debs) add(d);
  if (files.dsc && dsc) {
    add(files.dsc);
    for (const f of dsc.files.filter((n) => n !== basename(files.dsc!))) add(join(dirname(files.dsc), f));
  }
  if (files.buildinfo) add(files.buildinfo);

  const suiteDir = join(tree.dir, 'dists', suite);
  const binDir = join(suiteDir, DEB_COMPONENT, `binary-${DEB_ARCHITECTURES[0]}`);
  const srcDir = join(suiteDir, DEB_COMPONENT, 'source');

  if (files.debs.length) {
    const out = await mustRun(ctx, 'apt-ftparchive', ['packages', pool], { cwd: tree.dir });
    const fresh = parseParagraphs(out.stdout.toString('utf8')).filter((p) => added.has(field(p, 'Filename') ?? ''));
    if (fresh.length !== files.debs.length) throw new QbuildError('stage', `apt-ftparchive indexed ${fresh.length} of ${files.debs.length} packages`);
    for (const p of fresh) {
      const arch = field(p, 'Architecture');
      if (arch !== 'all' && !(DEB_ARCHITECTURES as readonly string[]).includes(arch ?? '')) {
        throw new QbuildError('stage', `${field(p, 'Filename')}: architecture ${arch} is not one this repository serves`);
      }
    }
    const key = (p: Paragraph) => `${field(p, 'Package')} ${field(p, 'Architecture')}`;
    writeIndex(join(binDir, 'Packages'), merge(readIndex(join(binDir, 'Packages')), fresh, key));
  }
  if (files.dsc) {
    const name = basename(files.dsc);
    const out = await mustRun(ctx, 'apt-ftparchive', ['sources', pool], { cwd: tree.dir });
    const fresh = parseParagraphs(out.stdout.toString('utf8')).filter((p) =>
      field(p, 'Directory') === pool && (field(p, 'Files') ?? '').split('\n').some((l) => l.trim().split(/\s+/)[2] === name));
    if (fresh.length !== 1) throw new QbuildError('stage', `apt-ftparchive indexed ${fresh.length} source packages for ${name}`);
    writeIndex(join(srcDir, 'Sources'), merge(readIndex(join(srcDir, 'Sources')), fresh, (p) => field(p, 'Package') ?? ''));
  }
  return suiteRelease(ctx, tree, release, dist, suite);
}

/**
 * A suite's Release (apt-ftparchive, upstream's fields) over its indices, and the two
 * signatures apt reads: InRelease (clearsigned) and Release.gpg (detached, armored).
 */
async function suiteRelease(ctx: StageContext, tree: StagedTree, release: string, dist: Dist, suite: string): Promise<MetadataSignature[]> {
  const suiteDir = join(tree.dir, 'dists', suite);
  const binDir = join(suiteDir, DEB_COMPONENT, `binary-${DEB_ARCHITECTURES[0]}`);
  const srcDir = join(suiteDir, DEB_COMPONENT, 'source');
  // Every suite apt is pointed at needs both indices, even if empty.
  if (!existsSync(join(binDir, 'Packages'))) writeIndex(join(binDir, 'Packages'), []);
  if (!existsSync(join(srcDir, 'Sources'))) writeIndex(join(srcDir, 'Sources'), []);

  const family = debianRelease(dist.dist).vendor;
  const opt = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
  const rel = await mustRun(ctx, 'apt-ftparchive', [
    ...opt('Origin', `Qubes OS ${family}`), ...opt('Label', `Qubes ${family} (updates candidates)`),
    ...opt('Codename', suite), ...opt('Architectures', `${DEB_ARCHITECTURES.join(' ')} source`),
    ...opt('Components', DEB_COMPONENT),
    ...opt('Description', `Apt repository with Qubes OS ${release} domU support tools for ${family} ${dist.dist}`),
    'release', '.',
  ], { cwd: suiteDir });
  const releasePath = join(suiteDir, 'Release');
  replaceFile(releasePath, rel.stdout);
  const label = (f: string) => `deb/${dist.set}/dists/${suite}/${f}`;
  return [
    { input: releasePath, output: join(suiteDir, 'InRelease'), shape: 'clearsign', form: 'clearsign', label: label('InRelease') },
    { input: releasePath, output: join(suiteDir, 'Release.gpg'), shape: 'detach-armor', form: 'binary', label: label('Release.gpg') },
  ];
}

/** A .deb's source name from its file name (`<name>_<version>_<arch>.deb`), for a build without a .dsc. */
function sourceOfDeb(path: string | undefined): string {
  const name = path && basename(path).split('_')[0];
  if (!name || !SOURCE_NAME.test(name)) throw new QbuildError('stage', `no .dsc and no .deb to name the source package`);
  return name;
}

/** The pool paths (relative to the set's tree) a build's files get: what a promotion copies. */
export function debPoolFiles(files: DebFiles): string[] {
  const dsc = files.dsc ? readDsc(files.dsc) : undefined;
  const pool = poolDir(dsc?.source ?? sourceOfDeb(files.debs[0]));
  const names = [...files.debs, ...(files.dsc && dsc ? [files.dsc, ...dsc.files.filter((n) => n !== basename(files.dsc!))] : []), ...(files.buildinfo ? [files.buildinfo] : [])];
  return [...new Set(names.map((n) => `${pool}/${basename(n)}`))];
}

/** Files of a Sources paragraph, as pool paths (`Directory` + each `Files` name). */
function sourceFiles(p: Paragraph): string[] {
  const dir = field(p, 'Directory');
  return (field(p, 'Files') ?? '').split('\n').map((l) => l.trim().split(/\s+/)[2]).filter((n): n is string => !!n && !!dir).map((n) => `${dir}/${n}`);
}

/**
 * Copies one component version from a set's current-testing suite into `repository`'s suite
 * of the same set (the staged tree is the whole set: the pool is shared, so no file is
 * copied, only index paragraphs). Rules: every recorded .deb must be listed in the testing
 * suite's Packages and the recorded .dsc in its Sources (else that version is no longer what
 * testing serves: refused), and every listed pool file must exist; the paragraphs are merged
 * into the target suite's indices as a publication would (same package and architecture
 * replaced, others kept); then the target suite gets a new Release to sign.
 */
export async function promoteDeb(ctx: StageContext, tree: StagedTree, release: string, dist: Dist, files: string[], repository: Repository): Promise<MetadataSignature[]> {
  const from = join(tree.dir, 'dists', debSuite(dist, TESTING), DEB_COMPONENT);
  const to = join(tree.dir, 'dists', debSuite(dist, repository), DEB_COMPONENT);
  const wanted = new Set(files);
  for (const f of files) if (!existsSync(join(tree.dir, f))) throw new QbuildError('stage', `${f} is not in the ${dist.set} pool`);
  const bin = `binary-${DEB_ARCHITECTURES[0]}`;
  const debs = files.filter((f) => f.endsWith('.deb'));
  const packages = readIndex(join(from, bin, 'Packages')).filter((p) => wanted.has(field(p, 'Filename') ?? ''));
  if (packages.length !== debs.length) {
    throw new QbuildError('stage', `${debSuite(dist)} lists ${packages.length} of the ${debs.length} packages of this version: it is not the version current-testing serves`);
  }
  const dsc = files.find((f) => f.endsWith('.dsc'));
  const sources = readIndex(join(from, 'source', 'Sources')).filter((p) => dsc !== undefined && sourceFiles(p).includes(dsc));
  if (dsc && sources.length !== 1) throw new QbuildError('stage', `${debSuite(dist)} does not list ${basename(dsc)} in its Sources`);
  const binKey = (p: Paragraph) => `${field(p, 'Package')} ${field(p, 'Architecture')}`;
  writeIndex(join(to, bin, 'Packages'), merge(readIndex(join(to, bin, 'Packages')), packages, binKey));
  if (sources.length) writeIndex(join(to, 'source', 'Sources'), merge(readIndex(join(to, 'source', 'Sources')), sources, (p) => field(p, 'Package') ?? ''));
  return suiteRelease(ctx, tree, release, dist, debSuite(dist, repository));
}
