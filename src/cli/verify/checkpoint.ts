import type { NoteVerifier } from '../../protocol/note/note.js';
import { openCheckpoint, type Checkpoint } from '../../protocol/tlog/checkpoint.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/** The ledger's latest checkpoint: `checkpoint` at the top of the logs repository (C2SP tlog-tiles). */
export const CHECKPOINT_FILE = 'checkpoint';
/** A checkpoint note is a 64 KiB body at most and a few signature lines: a bigger file is refused unread. */
export const MAX_CHECKPOINT_FILE = 1 << 20;

/**
 * Check "checkpoint": the repository's `checkpoint` is a C2SP signed note verified by the
 * logs VM's key (openCheckpoint: a signature by that key that does not verify rejects it;
 * others, e.g. witness cosignatures, are not needed here) and a well-formed tlog-checkpoint.
 */
export function checkCheckpoint(repo: LogsRepo, logKey: NoteVerifier, c: Checks): { checkpoint: Checkpoint; note: string } {
  const bytes = within('checkpoint', () => repo.read(CHECKPOINT_FILE, MAX_CHECKPOINT_FILE));
  if (!bytes) broke('checkpoint', `no ${CHECKPOINT_FILE} file in the logs repository`);
  const checkpoint = within('checkpoint', () => openCheckpoint(bytes, [logKey]));
  c.ok('checkpoint', `${checkpoint.origin} size ${checkpoint.size}, signed by ${logKey.name}`);
  return { checkpoint, note: bytes.toString('utf8') };
}
