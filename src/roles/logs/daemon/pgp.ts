import { readFileSync } from 'node:fs';
import { QbuildError } from '../../../errors.js';

/**
 * The logs VM's OpenPGP key, which signs every commit of the logs repository. v4 Ed25519
 * ("ed25519Legacy") so GnuPG 2.2 can verify (design §2). openpgp is loaded lazily: only the
 * daemon and the key commands need it.
 */
export async function generatePgpKey(name: string, email: string): Promise<{ secret: string; public: string; fingerprint: string }> {
  const openpgp = await import('openpgp');
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email }], format: 'armored',
  });
  const key = await openpgp.readPrivateKey({ armoredKey: privateKey });
  return { secret: privateKey, public: publicKey, fingerprint: key.getFingerprint().toUpperCase() };
}

export interface CommitSigner {
  fingerprint: string;
  publicArmored: string;
  /** isomorphic-git's onSign: an armored detached signature over the commit payload. */
  sign(payload: string): Promise<string>;
}

/**
 * Loads an armored secret key for signing. Rules: exactly one unencrypted secret key that
 * is v4 and can sign (the daemon runs unattended, and GnuPG 2.2 cannot read v6 keys).
 */
export async function loadCommitSigner(file: string): Promise<CommitSigner> {
  let armored: string;
  try {
    armored = readFileSync(file, 'utf8');
  } catch (e) {
    throw new QbuildError('config', `cannot read the logs signing key ${file}: ${(e as Error).message} (run: qbuild role logs init)`);
  }
  return parseCommitSigner(armored, file);
}

/** The rules of loadCommitSigner, for key text already read; `file` names it in errors. */
export async function parseCommitSigner(armored: string, file: string): Promise<CommitSigner> {
  const openpgp = await import('openpgp');
  let key;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: armored });
  } catch (e) {
    throw new QbuildError('bad-input', `${file}: not an armored OpenPGP secret key: ${(e as Error).message}`);
  }
  if (!key.isDecrypted()) throw new QbuildError('bad-input', `${file}: the secret key is passphrase-protected; the daemon needs an unprotected key`);
  if (key.keyPacket.version !== 4) throw new QbuildError('bad-input', `${file}: only v4 keys are accepted (GnuPG 2.2 cannot verify v6)`);
  try {
    await key.getSigningKey();
  } catch (e) {
    throw new QbuildError('bad-input', `${file}: no usable signing key: ${(e as Error).message}`);
  }
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    publicArmored: key.toPublic().armor(),
    async sign(payload: string): Promise<string> {
      const message = await openpgp.createMessage({ binary: Buffer.from(payload, 'utf8') });
      return (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored' })) as string;
    },
  };
}
