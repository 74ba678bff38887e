import type { Checkpoint } from '../../protocol/tlog/checkpoint.js';
import { MAX_ENTRY_BYTES, parseEntry, type LedgerEntry } from '../../protocol/tlog/entry.js';
import type { MerkleTree } from '../../protocol/tlog/merkle.js';
import { entriesFromTiles, entriesMatchTree, TILE_WIDTH, treeFromTiles } from '../../protocol/tlog/tiles.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/** The largest tile file: a full entry bundle of the largest entries (a hash tile is 8 KiB). */
const MAX_TILE_FILE = TILE_WIDTH * (2 + MAX_ENTRY_BYTES);

export interface VerifiedTree {
  tree: MerkleTree;
  entries: LedgerEntry[];
}

/**
 * Check "tiles": the hash tiles rebuild a tree of the checkpoint's size whose root is the
 * checkpoint's (treeFromTiles also checks every tile's shape and every upper tile against the
 * leaves). Check "entries": the entry bundles hold one entry per leaf, each hashing to its
 * leaf, each a well-formed ledger entry.
 */
export function checkTree(repo: LogsRepo, cp: Checkpoint, c: Checks): VerifiedTree {
  const read = (p: string) => repo.read(p, MAX_TILE_FILE);
  const tree = within('tiles', () => treeFromTiles(read, cp.size));
  if (!tree.root().equals(cp.root)) broke('tiles', `the tiles' root ${tree.root().toString('base64')} is not the checkpoint's ${cp.root.toString('base64')}`);
  c.ok('tiles', `${cp.size} leaves rebuilt from tile/, root matches the checkpoint`);
  const raw = within('entries', () => entriesFromTiles(read, cp.size));
  within('entries', () => entriesMatchTree(tree, raw));
  const entries = raw.map((b, i) => within('entries', () => {
    try {
      return parseEntry(b);
    } catch (e) {
      throw new Error(`entry ${i}: ${(e as Error).message}`);
    }
  }));
  c.ok('entries', `${entries.length} entries in tile/entries, each hashes to its leaf`);
  return { tree, entries };
}
