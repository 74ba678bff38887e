import { spawnSync } from 'node:child_process';
import { QbuildError } from '../../errors.js';
import { rpmHeaderSignature, rpmSignDigest, rpmSignedHeaderBlob } from '../../protocol/rpm/header-blob.js';
import { formDigest, type SignForm } from '../../protocol/signform.js';
import { gpgvVerify } from './gpgv.js';
import { broke, within, type Checks } from './report.js';

/** A digest the ledger may name for this package: the bytes its signature binds, in their form. */
export interface PackageDigest {
  form: SignForm;
  sha256: string;
}

const RPM_LEAD = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
const CLEARSIGN = '-----BEGIN PGP SIGNED MESSAGE-----';
/** An ar archive whose first member is debian-binary: a .deb (deb(5)). */
const DEB_MAGIC = Buffer.from('!<arch>\ndebian-binary');

/**
 * Check "signature": the package's OpenPGP signature verifies with the signing key (gpgv),
 * and what it signs gives the digest(s) to look up in the ledger:
 *   rpm          the header signature (RSA/EdDSA tag 268, DSA tag 267) over the main header
 *                blob, the bytes rpmsign signed; rpm's own digest check (`rpmkeys -K
 *                --nosignature`) ties the payload to that header
 *   --signature  a detached signature over FILE: its binary or text form
 *   clearsigned  FILE itself (InRelease, .dsc, .changes): the clearsign form of its text
 * A .deb has no signature of its own: it is checked through its suite (deb-chain.ts).
 */
export function checkPackageSignature(file: string, bytes: Buffer, signature: Buffer | undefined, signingKey: string, c: Checks): PackageDigest[] {
  if (!signature && bytes.subarray(0, 4).equals(RPM_LEAD)) {
    const header = within('signature', () => rpmSignedHeaderBlob(bytes));
    const sig = within('signature', () => rpmHeaderSignature(bytes));
    if (!sig) broke('signature', `${file} is an unsigned rpm (no header signature)`);
    const v = gpgvVerify(signingKey, sig, header);
    if (!v.ok) broke('signature', `${file}: rpm header signature: ${v.why}`);
    const k = spawnSync('rpmkeys', ['-K', '--nosignature', '--', file], { encoding: 'utf8' });
    if (k.error) throw new QbuildError('io', `cannot run rpmkeys: ${k.error.message}`);
    if (k.status !== 0) broke('signature', `${file}: rpm digests do not match (${k.stdout.trim().split('\n').pop() ?? ''})`);
    c.ok('signature', `${file}: rpm header signed by ${v.fingerprint}, rpm digests OK`);
    return [{ form: 'binary', sha256: rpmSignDigest(bytes) }];
  }
  if (signature) {
    const v = gpgvVerify(signingKey, signature, bytes);
    if (!v.ok) broke('signature', `${file}: detached signature: ${v.why}`);
    c.ok('signature', `${file}: detached signature by ${v.fingerprint}`);
    return [{ form: 'binary', sha256: formDigest('binary', bytes) }, { form: 'text', sha256: within('signature', () => formDigest('text', bytes)) }];
  }
  if (bytes.subarray(0, CLEARSIGN.length).toString('latin1') === CLEARSIGN) {
    const v = gpgvVerify(signingKey, bytes);
    if (!v.ok || !v.signed) broke('signature', `${file}: cleartext signature: ${v.why}`);
    c.ok('signature', `${file}: cleartext signature by ${v.fingerprint}`);
    return [{ form: 'clearsign', sha256: within('signature', () => formDigest('clearsign', v.signed!)) }];
  }
  if (bytes.subarray(0, DEB_MAGIC.length).equals(DEB_MAGIC)) {
    broke('signature', `${file} is a .deb, signed only through its suite: give the suite's InRelease with --release and the Packages index it lists with --packages`);
  }
  return broke('signature', `${file} is neither a signed rpm nor cleartext-signed; give its detached signature with --signature`);
}
