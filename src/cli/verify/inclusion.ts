import type { Checkpoint } from '../../protocol/tlog/checkpoint.js';
import { encodeEntry, type LedgerEntry } from '../../protocol/tlog/entry.js';
import { leafHash, verifyInclusion, type MerkleTree } from '../../protocol/tlog/merkle.js';
import { broke, type Checks } from './report.js';

/**
 * Check "inclusion": the RFC 6962 inclusion proof of leaf `index` (computed from the tiles, as
 * any tlog client does) verifies the entry's leaf hash against the signed checkpoint's root.
 */
export function checkInclusion(tree: MerkleTree, cp: Checkpoint, index: number, entry: LedgerEntry, c: Checks): void {
  const proof = tree.inclusionProof(index, cp.size);
  if (!verifyInclusion(index, cp.size, leafHash(encodeEntry(entry)), proof, cp.root)) {
    broke('inclusion', `leaf ${index} is not included in the checkpoint of size ${cp.size}`);
  }
  c.ok('inclusion', `leaf ${index} of ${cp.size}, ${proof.length}-hash proof verifies against the checkpoint root`);
}
