import type { NoteVerifier } from '../../protocol/note/note.js';
import { openCheckpoint, type Checkpoint } from '../../protocol/tlog/checkpoint.js';
import { verifyConsistency, type MerkleTree } from '../../protocol/tlog/merkle.js';
import { CHECKPOINT_FILE, MAX_CHECKPOINT_FILE } from './checkpoint.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/**
 * Check "history": every version of `checkpoint` the git history holds, oldest first, is
 * signed by the logs VM's key and consistent with the current tree: no larger than it, and
 * the RFC 6962 consistency proof from its size to the current checkpoint verifies its root.
 * So the published log only ever grew: no entry was removed or changed, nothing rolled back.
 */
export function checkHistory(repo: LogsRepo, tree: MerkleTree, current: Checkpoint, logKey: NoteVerifier, c: Checks): void {
  const commits = repo.commitsTouching(CHECKPOINT_FILE);
  let last: Checkpoint | undefined;
  let versions = 0;
  for (const commit of commits) {
    const bytes = within('history', () => repo.show(commit, CHECKPOINT_FILE, MAX_CHECKPOINT_FILE));
    if (!bytes) continue; // the commit removed it: the next version must still be consistent
    versions++;
    const at = `commit ${commit.slice(0, 12)}`;
    const cp = within('history', () => {
      try {
        return openCheckpoint(bytes, [logKey]);
      } catch (e) {
        throw new Error(`${at}: checkpoint: ${(e as Error).message}`);
      }
    });
    if (cp.origin !== current.origin) broke('history', `${at}: checkpoint of origin ${cp.origin}, not ${current.origin}`);
    if (last && cp.size < last.size) broke('history', `${at}: checkpoint size ${cp.size} is smaller than the earlier ${last.size}: the ledger was rolled back`);
    if (cp.size > current.size) broke('history', `${at}: checkpoint size ${cp.size} is larger than the current ${current.size}: the ledger was rolled back`);
    const proof = tree.consistencyProof(cp.size, current.size);
    if (!verifyConsistency(cp.size, current.size, cp.root, current.root, proof)) {
      broke('history', `${at}: checkpoint of size ${cp.size} is not consistent with the current tree: entries were changed or removed`);
    }
    last = cp;
  }
  if (versions === 0) broke('history', `no commit holds ${CHECKPOINT_FILE}`);
  c.ok('history', `${versions} checkpoint${versions === 1 ? '' : 's'} in the git history, each signed and consistent with size ${current.size}`);
}
