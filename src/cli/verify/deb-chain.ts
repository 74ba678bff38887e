import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { packagesText, packagesWithDigest } from '../../protocol/deb/packages.js';
import { isPackagesIndex, parseRelease } from '../../protocol/deb/release.js';
import { formDigest } from '../../protocol/signform.js';
import { gpgvVerify } from './gpgv.js';
import type { PackageDigest } from './package-signature.js';
import { broke, within, type Checks } from './report.js';

/** The two indices a .deb is checked through: its suite's InRelease and the Packages index it lists. */
export interface DebIndices {
  release: { file: string; bytes: Buffer };
  packages: { file: string; bytes: Buffer };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A .deb carries no signature of its own: apt trusts it through its suite. Checks, in apt's
 * order, each on what the one before verified:
 *   signature      InRelease verifies with the signing key (gpgv); only the text gpgv says
 *                  was signed is read further
 *   release index  that text is a Release whose SHA256 field lists a Packages index
 *                  (`<component>/binary-<arch>/Packages[.gz]`) with exactly the given file's
 *                  SHA-256 and size
 *   package index  that index has an entry with exactly the .deb's SHA-256 and size
 * The digest looked up in the ledger is the InRelease's (what the keys VM signed).
 */
export function checkDebChain(file: string, deb: Buffer, ix: DebIndices, signingKey: string, c: Checks): PackageDigest[] {
  const v = gpgvVerify(signingKey, ix.release.bytes);
  if (!v.ok || !v.signed) broke('signature', `${ix.release.file}: cleartext signature: ${v.why}`);
  c.ok('signature', `${ix.release.file}: cleartext signature by ${v.fingerprint}`);

  const release = within('release index', () => parseRelease(v.signed!.toString('utf8')));
  const pkgDigest = sha256(ix.packages.bytes);
  const listed = release.sha256.find((f) => f.sha256 === pkgDigest && f.size === ix.packages.bytes.length && isPackagesIndex(f.path));
  if (!listed) broke('release index', `${basename(ix.packages.file)} (sha256 ${pkgDigest}, ${ix.packages.bytes.length} bytes) is not a Packages index the signed Release lists`);
  c.ok('release index', `suite ${release.suite ?? release.codename ?? '?'} lists ${listed.path} (sha256 ${pkgDigest})`);

  const debDigest = sha256(deb);
  const entries = within('package index', () => packagesWithDigest(packagesText(ix.packages.bytes), debDigest, deb.length));
  const e = entries[0];
  if (!e) broke('package index', `${listed.path} lists no package with ${basename(file)}'s sha256 ${debDigest} and size ${deb.length}`);
  c.ok('package index', `${listed.path} lists ${e.package} ${e.version} ${e.architecture} (${e.filename}, sha256 ${debDigest})`);

  return [{ form: 'clearsign', sha256: within('signature', () => formDigest('clearsign', v.signed!)) }];
}
