import type { SignLine } from '../record/lines.js';
import type { LedgerEntry } from '../tlog/entry.js';
import type { TicketV2 } from './ticket-v2.js';

/**
 * The ledger entry a v2 ticket stands for, from the ticket's own fields: the keys VM hashes
 * this to find the ticket's leaf, so a ticket granting any digest its log's entry does not
 * list (or naming another log, hash or time) has no leaf in the tree.
 */
export function ticketEntry(t: TicketV2): LedgerEntry {
  return {
    vm: t.buildVm,
    path: t.logPath,
    logSha256: t.logSha256,
    digests: t.digests.map(copyDigest),
    start: t.logStart,
    end: t.logEnd,
  };
}

/** The fields of a v2 ticket that restate a ledger entry: the inverse of ticketEntry (the logs VM fills a ticket from its entry). */
export type EntryTicketFields = Pick<TicketV2, 'buildVm' | 'logPath' | 'logSha256' | 'digests' | 'logStart' | 'logEnd'>;

/** The ticket fields for ledger entry `e`, so that ticketEntry of the ticket gives `e` back. */
export function entryTicketFields(e: LedgerEntry): EntryTicketFields {
  return {
    buildVm: e.vm,
    logPath: e.path,
    logSha256: e.logSha256,
    digests: e.digests.map(copyDigest),
    logStart: e.start,
    logEnd: e.end,
  };
}

/** A copy of a digest with exactly its three fields. */
function copyDigest(d: SignLine): SignLine {
  return { form: d.form, sha256: d.sha256, label: d.label };
}
