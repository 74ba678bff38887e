import type { Key } from 'openpgp';
import { oneLine } from '../../errors.js';
import type { PillarReader } from './pillar-reader.js';

/**
 * Armored OpenPGP public keys pasted into the pillar (`maintainer-keys`, `commands_public_keys`):
 * read with openpgp, imported here only, when the pillar has such keys.
 */

/** An armored key block (GnuPG writes one per `--export`; a pillar may paste several). */
const BLOCK_RE = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/** The armored key blocks in `armored`, and whether anything but blank space stands outside them. */
export function armoredKeyBlocks(armored: string): { blocks: string[]; textOutside: boolean } {
  return { blocks: armored.match(BLOCK_RE) ?? [], textOutside: armored.replace(BLOCK_RE, '').trim() !== '' };
}

export interface PillarKeys {
  /** The keys by primary fingerprint (40 upper-case hex). */
  byFpr: Map<string, Key>;
  /** All the keys as ONE armored public key block, so a qube reads them with one readKeys. */
  armored: string;
}

/**
 * Reads the blocks at pillar key `path`. Rules: every block is readable as armored OpenPGP
 * keys; no secret key (the keys are copied into qubes); every key is v4 (`v4Why` says why,
 * before "use a v4 Ed25519 or RSA key").
 */
export async function readPillarPublicKeys(r: PillarReader, path: string, blocks: readonly string[], v4Why = ''): Promise<PillarKeys> {
  const openpgp = await import('openpgp');
  const keys: Key[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      keys.push(...await openpgp.readKeys({ armoredKeys: block }));
    } catch (e) {
      r.fail(path, `block ${i + 1} is not readable as armored OpenPGP keys: ${oneLine(e)}`);
    }
  }
  const byFpr = new Map<string, Key>();
  for (const key of keys) {
    const fpr = key.getFingerprint().toUpperCase();
    if (key.isPrivate()) r.fail(path, `${fpr} is a secret key: give public keys only`);
    if (key.keyPacket.version !== 4) r.fail(path, `${fpr} is a v${key.keyPacket.version} key: ${v4Why}use a v4 Ed25519 or RSA key`);
    byFpr.set(fpr, key);
  }
  const packets = keys.map((k) => k.write());
  const all = new Uint8Array(packets.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of packets) { all.set(b, at); at += b.length; }
  return { byFpr, armored: openpgp.armor(openpgp.enums.armor.publicKey, all) };
}

/**
 * Rule: `fpr`, named at pillar key `at`, is the primary fingerprint of one of the keys read
 * from `path`, and that key can sign now (a signing-capable key or subkey, not expired, not
 * revoked); `cannot` names what it could not do, e.g. "cannot verify signatures".
 */
export async function requireSigningKey(r: PillarReader, at: string, keys: PillarKeys, path: string, fpr: string, cannot: string): Promise<void> {
  const key = keys.byFpr.get(fpr);
  if (!key) r.fail(at, `${fpr} is not the fingerprint of a key in ${path}`);
  try {
    await key.getSigningKey();
  } catch (e) {
    r.fail(at, `key ${fpr} ${cannot}: ${oneLine(e)}`);
  }
}
