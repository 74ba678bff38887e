import type { ComponentJson } from '../../protocol/build/section.js';
import { armoredKeyBlocks, readPillarPublicKeys, requireSigningKey } from './pillar-armored-keys.js';
import type { PillarReader } from './pillar-reader.js';

/**
 * Checks `build-infra:maintainer-keys` against the fingerprints the components name. Rules:
 * - the text is one or more armored OpenPGP key blocks and nothing else but blank space;
 * - no secret key (the keys are copied into the build qube, which runs untrusted code);
 * - every key is v4 (GnuPG 2.2, which release engineers verify tags with, cannot read v6);
 * - every maintainer fingerprint is the primary fingerprint of one of those keys, and that key
 *   can verify signatures now (a signing-capable key or subkey, not expired, not revoked).
 * Returns all the keys as ONE armored block, so the build qube reads them with one readKeys.
 * openpgp is imported (pillar-armored-keys.ts) only when the pillar has maintainer keys.
 */
export async function checkMaintainerKeys(
  r: PillarReader, armored: string | undefined, components: readonly ComponentJson[],
): Promise<string | undefined> {
  if (armored === undefined) return undefined;
  const path = 'build-infra:maintainer-keys';
  const { blocks, textOutside } = armoredKeyBlocks(armored);
  if (textOutside) r.fail(path, 'holds text outside its armored key blocks');
  const keys = await readPillarPublicKeys(r, path, blocks, 'GnuPG 2.2 cannot read it; ');
  for (const c of components) {
    for (const fpr of c.maintainers) {
      await requireSigningKey(r, `build-infra:components:${c.name}:maintainers`, keys, path, fpr, 'cannot verify signatures');
    }
  }
  return keys.armored;
}
