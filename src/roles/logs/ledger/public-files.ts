import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseNote } from '../../../protocol/note/note.js';
import { parseCheckpoint } from '../../../protocol/tlog/checkpoint.js';
import { bundlesFor, tilesFor } from '../../../protocol/tlog/tiles.js';
import type { Ledger } from './ledger.js';

/** The checkpoint's path in the logs repository (C2SP tlog-tiles: `<prefix>/checkpoint`, prefix = the repository root). */
export const CHECKPOINT_PATH = 'checkpoint';

/**
 * The tree size the repository's committed `checkpoint` says, if that checkpoint is a prefix
 * of this ledger (same root at that size): then only the tiles of the growth since need
 * writing. Otherwise (no checkpoint yet, unreadable, or one of another tree, e.g. after the
 * ledger state was restored from an older copy) 0: every tile is written again.
 */
export function committedSize(ledger: Ledger, committed: Buffer | undefined): number {
  if (!committed) return 0;
  try {
    const c = parseCheckpoint(parseNote(committed.toString('utf8')).text);
    if (c.size > ledger.size || !ledger.merkle.root(c.size).equals(c.root)) return 0;
    return c.size;
  } catch {
    return 0;
  }
}

/**
 * What the commit of a log adds for the ledger: `checkpoint` (the signed, cosigned note), the
 * hash tiles and entry bundles of the growth from `fromSize` to the ledger's size (full and
 * partial), and, for every tile now full, its partial versions to remove from the tree (the
 * spec lets a log delete them once the full tile exists; history keeps them).
 */
export function ledgerFiles(ledger: Ledger, store: string, fromSize: number, checkpointNote: string): { files: { path: string; bytes: Buffer }[]; remove: string[] } {
  const size = ledger.size;
  const files = [
    { path: CHECKPOINT_PATH, bytes: Buffer.from(checkpointNote, 'utf8') },
    ...tilesFor(ledger.merkle, fromSize, size),
    ...bundlesFor(fromSize, size, (i) => ledger.entryBytes(i)),
  ];
  const remove: string[] = [];
  for (const f of files) {
    if (f.path === CHECKPOINT_PATH || f.path.includes('.p/')) continue;
    let widths: string[] = [];
    try {
      widths = readdirSync(join(store, ...`${f.path}.p`.split('/')));
    } catch {
      continue;
    }
    for (const w of widths) remove.push(`${f.path}.p/${w}`);
  }
  return { files, remove };
}
