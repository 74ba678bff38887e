import type { PublicKey } from 'openpgp';
import { QbuildError, oneLine } from '../../../errors.js';

/** A maintainer of this component whose public key was configured. */
export interface MaintainerKey {
  /** Primary key fingerprint, 40 upper-case hex. */
  fingerprint: string;
  /** First user ID, for the log. */
  uid: string;
  key: PublicKey;
}

const BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/**
 * The keys that count for a component. Rules: `armored` is one or more armored public key
 * blocks, each readable, each key v4 (what GnuPG 2.2 verifies); only keys whose primary
 * fingerprint is in `maintainers` are kept; every listed maintainer must have a key (as
 * upstream, a missing key fails the fetch rather than silently lowering M).
 */
export async function loadMaintainerKeys(armored: string, maintainers: string[]): Promise<MaintainerKey[]> {
  const openpgp = await import('openpgp');
  const wanted = new Set(maintainers.map((f) => f.toUpperCase()));
  const found = new Map<string, MaintainerKey>();
  const blocks = armored.match(BLOCK) ?? [];
  for (const [i, block] of blocks.entries()) {
    let keys: PublicKey[];
    try {
      keys = (await openpgp.readKeys({ armoredKeys: block })) as PublicKey[];
    } catch (e) {
      throw new QbuildError('source', `maintainer key block ${i + 1} is unreadable: ${oneLine(e)}`);
    }
    for (const key of keys) {
      const fingerprint = key.getFingerprint().toUpperCase();
      if (!wanted.has(fingerprint) || found.has(fingerprint)) continue;
      if (key.keyPacket.version !== 4) throw new QbuildError('source', `maintainer key ${fingerprint} is not a v4 key`);
      found.set(fingerprint, { fingerprint, uid: key.getUserIDs()[0] ?? '', key });
    }
  }
  for (const f of wanted) {
    if (!found.has(f)) throw new QbuildError('source', `maintainer ${f} has no public key in the configuration`);
  }
  return [...found.values()];
}
