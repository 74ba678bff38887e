import type { ComponentJson } from '../../protocol/build/section.js';
import { oneLine } from '../../errors.js';
import type { PillarReader } from './pillar-reader.js';

/** An armored key block (GnuPG writes one per `--export`; a pillar may paste several). */
const BLOCK_RE = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/**
 * Checks `build-infra:maintainer-keys` against the fingerprints the components name. Rules:
 * - the text is one or more armored OpenPGP key blocks and nothing else but blank space;
 * - no secret key (the keys are copied into the build qube, which runs untrusted code);
 * - every key is v4 (GnuPG 2.2, which release engineers verify tags with, cannot read v6);
 * - every maintainer fingerprint is the primary fingerprint of one of those keys, and that key
 *   can verify signatures now (a signing-capable key or subkey, not expired, not revoked).
 * Returns all the keys as ONE armored block, so the build qube reads them with one readKeys.
 * openpgp is imported here only, when the pillar has maintainer keys.
 */
export async function checkMaintainerKeys(
  r: PillarReader, armored: string | undefined, components: readonly ComponentJson[],
): Promise<string | undefined> {
  if (armored === undefined) return undefined;
  const path = 'build-infra:maintainer-keys';
  const blocks = armored.match(BLOCK_RE) ?? [];
  if (armored.replace(BLOCK_RE, '').trim() !== '') r.fail(path, 'holds text outside its armored key blocks');
  const openpgp = await import('openpgp');
  const keys = [];
  for (const [i, block] of blocks.entries()) {
    try {
      keys.push(...await openpgp.readKeys({ armoredKeys: block }));
    } catch (e) {
      r.fail(path, `block ${i + 1} is not readable as armored OpenPGP keys: ${oneLine(e)}`);
    }
  }
  const byFpr = new Map<string, (typeof keys)[number]>();
  for (const key of keys) {
    const fpr = key.getFingerprint().toUpperCase();
    if (key.isPrivate()) r.fail(path, `${fpr} is a secret key: give public keys only`);
    if (key.keyPacket.version !== 4) r.fail(path, `${fpr} is a v${key.keyPacket.version} key: GnuPG 2.2 cannot read it; use a v4 Ed25519 or RSA key`);
    byFpr.set(fpr, key);
  }
  for (const c of components) {
    const p = `build-infra:components:${c.name}:maintainers`;
    for (const fpr of c.maintainers) {
      const key = byFpr.get(fpr);
      if (!key) r.fail(p, `${fpr} is not the fingerprint of a key in ${path}`);
      try {
        await key.getSigningKey();
      } catch (e) {
        r.fail(p, `key ${fpr} cannot verify signatures: ${oneLine(e)}`);
      }
    }
  }
  const packets = keys.map((k) => k.write());
  const all = new Uint8Array(packets.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of packets) { all.set(b, at); at += b.length; }
  return openpgp.armor(openpgp.enums.armor.publicKey, all);
}
