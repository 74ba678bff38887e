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
    digests: t.digests.map((d) => ({ form: d.form, sha256: d.sha256, label: d.label })),
    start: t.logStart,
    end: t.logEnd,
  };
}
