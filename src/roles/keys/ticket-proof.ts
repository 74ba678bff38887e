import { QbuildError } from '../../errors.js';
import type { NoteVerifier } from '../../protocol/note/note.js';
import type { TicketV2 } from '../../protocol/ticket/ticket-v2.js';
import { openCheckpoint, type Checkpoint } from '../../protocol/tlog/checkpoint.js';
import { countWitnesses } from './witness-quorum.js';
import { ticketEntry } from '../../protocol/ticket/ticket-entry.js';
import { encodeEntry } from '../../protocol/tlog/entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../protocol/tlog/merkle.js';
import type { HeldCheckpoint } from './checkpoint-store.js';
import type { LedgerPolicy } from './ledger-policy.js';

export type ProofVerdict =
  | { ok: true; checkpoint: Checkpoint; note: string; newer: boolean }
  | { ok: false; reason: string };

const refuse = (reason: string): ProofVerdict => ({ ok: false, reason });

/**
 * The ledger checks of a v2 ticket (docs/ticket.md, Keys VM checks), in this order; the first
 * that fails refuses the ticket with its reason:
 * 1. the checkpoint note verifies with the provisioned logs key and its origin is the
 *    configured ledgerOrigin; its size is the ticket's tree-size;
 * 2. at least witnessQuorum distinct configured witnesses cosigned it (witness-quorum.ts);
 * 3. the leaf recomputed from the ticket's own fields (vm, log, log-sha256, log-start,
 *    log-end and every sign line: the digests it grants are exactly the entry's) is at
 *    leaf-index in that tree (inclusion proof, RFC 9162 §2.1.3.2);
 * 4. against the held checkpoint (none: consistency-from must be 0, the first checkpoint is
 *    taken as it comes): a smaller tree is a rolled-back log; consistency-from must be the held
 *    size (else the logs VM is told which size to prove from); the consistency proof must show
 *    the tree extends the held one (RFC 9162 §2.1.4.2), else it is a fork.
 */
export function checkTicketProof(t: TicketV2, logsKey: NoteVerifier, policy: LedgerPolicy, held: HeldCheckpoint | undefined): ProofVerdict {
  let c: Checkpoint;
  try {
    c = openCheckpoint(t.checkpoint, [logsKey], policy.ledgerOrigin);
  } catch (e) {
    if (e instanceof QbuildError) return refuse(`checkpoint: ${e.message}`);
    throw e;
  }
  if (c.size !== t.treeSize) return refuse(`checkpoint is of size ${c.size}, the ticket says tree-size ${t.treeSize}`);
  const witnessed = countWitnesses(t.checkpoint, policy.witnesses);
  if (witnessed.error) return refuse(witnessed.error);
  if (witnessed.count < policy.witnessQuorum) {
    return refuse(`witness quorum not met: ${witnessed.count} of the ${policy.witnesses.length} configured witnesses cosigned checkpoint ${c.size}, ${policy.witnessQuorum} required`);
  }
  let leaf: Buffer;
  try {
    leaf = leafHash(encodeEntry(ticketEntry(t)));
  } catch (e) {
    if (e instanceof QbuildError) return refuse(`ledger entry: ${e.message}`);
    throw e;
  }
  if (!verifyInclusion(t.leafIndex, c.size, leaf, t.inclusion, c.root)) {
    return refuse(`inclusion proof does not match: the entry for ${t.logPath} is not leaf ${t.leafIndex} of checkpoint ${c.size}`);
  }
  if (!held) {
    if (t.consistencyFrom !== 0) return refuse(`consistency proof is from size ${t.consistencyFrom}, this keys VM holds no checkpoint yet (size 0)`);
    return { ok: true, checkpoint: c, note: t.checkpoint, newer: true };
  }
  const h = held.checkpoint;
  if (c.size < h.size) return refuse(`rolled-back ledger: checkpoint size ${c.size} is older than the held checkpoint (size ${h.size})`);
  if (t.consistencyFrom !== h.size) return refuse(`consistency proof is from size ${t.consistencyFrom}, this keys VM holds size ${h.size}`);
  if (!verifyConsistency(h.size, c.size, h.root, c.root, t.consistency)) {
    return refuse(c.size === h.size
      ? `forked ledger: checkpoint size ${c.size} has another root than the held checkpoint of the same size`
      : `forked ledger: checkpoint size ${c.size} is not consistent with the held checkpoint (size ${h.size})`);
  }
  return { ok: true, checkpoint: c, note: t.checkpoint, newer: c.size > h.size };
}
