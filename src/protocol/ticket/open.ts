import { QbuildError } from '../../errors.js';
import { openNote, type NoteVerifier } from '../note/note.js';
import { parseTicket, TICKET_MAGIC, type Ticket } from './ticket.js';
import { parseTicketV2, TICKET_V2_MAGIC, type TicketV2 } from './ticket-v2.js';

/** A verified ticket of either version: the keys VM decides what each may grant. */
export type ReceivedTicket =
  | { version: 1; ticket: Ticket }
  | { version: 2; ticket: TicketV2 };

/**
 * Verifies a signed ticket note with the logs VM's verifier key(s), then parses its body by
 * its first line. Rules: the note must verify (openNote) before its text is parsed at all;
 * the first line must be exactly `qbuild-ticket v1` or `qbuild-ticket v2`, and the body then
 * follows that version's strict parser; any other first line is refused.
 */
export function openAnyTicket(note: string | Uint8Array, verifiers: NoteVerifier[]): ReceivedTicket {
  const { text } = openNote(note, verifiers);
  const first = text.slice(0, text.indexOf('\n'));
  if (first === TICKET_V2_MAGIC) return { version: 2, ticket: parseTicketV2(text) };
  if (first === TICKET_MAGIC) return { version: 1, ticket: parseTicket(text) };
  throw new QbuildError('bad-input', `ticket: first line must be "${TICKET_V2_MAGIC}" or "${TICKET_MAGIC}"`);
}
