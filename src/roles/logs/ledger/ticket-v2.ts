import { parseNote } from '../../../protocol/note/note.js';
import { entryTicketFields } from '../../../protocol/ticket/ticket-entry.js';
import type { TicketV2 } from '../../../protocol/ticket/ticket-v2.js';
import { parseCheckpoint } from '../../../protocol/tlog/checkpoint.js';
import type { LedgerEntry } from '../../../protocol/tlog/entry.js';
import type { Ledger, SignedCheckpoint } from './ledger.js';

/** What a queued ticket keeps until it is sent; the consistency proof is made at send time, from the size the keys VM holds. */
export interface LedgerTicketRef {
  leafIndex: number;
  /** The log's ledger entry, as appended. */
  entry: LedgerEntry;
  /** The signed checkpoint (with cosignatures) committed with the log, and the entry's inclusion proof in it (hex). */
  checkpoint: string;
  inclusion: string[];
  issued: string;
  expires: string;
}

/**
 * The v2 ticket for a queued log, proving from `from` (the checkpoint the keys VM holds). Its
 * entry, checkpoint and inclusion proof are the ones fixed when the log was committed (so a
 * ledger state restored since cannot change what an old ticket says); only the consistency
 * proof is made now, from the ledger as it is. when the keys VM already holds a larger
 * tree (it got a later checkpoint some other way), the latest signed checkpoint is used
 * instead, if it covers that size and the ledger still holds the entry at its index
 * (`latest`, passed only when it is published).
 */
export function ledgerTicket(ledger: Ledger, ref: LedgerTicketRef, from: number, latest: SignedCheckpoint | undefined): TicketV2 {
  let fromSize = from;
  let note = ref.checkpoint;
  let size = parseCheckpoint(parseNote(note).text).size;
  let inclusion: Buffer[] = ref.inclusion.map((h) => Buffer.from(h, 'hex'));
  const tree = ledger.merkle;
  if (fromSize > size && latest && latest.checkpoint.size >= fromSize && ledger.indexOf(ref.entry.path) === ref.leafIndex) {
    note = latest.note;
    size = latest.checkpoint.size;
    inclusion = tree.inclusionProof(ref.leafIndex, size);
  }
  // No checkpoint of this ledger covers what the keys VM holds (the ledger was rolled back):
  // the ticket still goes, proving from its own size, and the keys VM refuses it, naming why.
  if (fromSize > size) fromSize = size;
  // A ledger smaller than the checkpoint (its state restored from an older copy) cannot prove consistency: the keys VM judges the empty proof.
  const consistency = fromSize === 0 || fromSize === size || ledger.size < size ? [] : tree.consistencyProof(fromSize, size);
  return {
    ...entryTicketFields(ref.entry),
    issued: new Date(ref.issued),
    expires: new Date(ref.expires),
    leafIndex: ref.leafIndex,
    treeSize: size,
    checkpoint: note,
    inclusion,
    consistencyFrom: fromSize,
    consistency,
  };
}
