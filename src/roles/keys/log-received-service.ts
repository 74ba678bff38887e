import { QbuildError } from '../../errors.js';
import type { ServiceHandler } from '../service.js';
import { stateDir } from '../../config.js';
import { readCapped } from '../../util/read-capped.js';
import { loadKeysConfig } from './keys-config.js';
import { keysLog } from './keys-log.js';
import { TicketStore } from './ticket-store.js';
import { CheckpointStore } from './checkpoint-store.js';
import { loadLedgerPolicy } from './ledger-policy.js';
import { formatHeldSize } from '../../protocol/ticket/held-size.js';

/** A ticket carries at most MAX_TICKET_DIGESTS lines of ~100 bytes: 2 MiB is plenty. */
const MAX_TICKET_BYTES = 2 * 1024 * 1024;

/**
 * `qubesbuilder.LogReceived+<build-vm>` (logs → dom0 → keys-ENV). Rules:
 * - the caller must be the provisioned logs VM (keys.logsVm), and the argument the build VM
 *   this keys VM serves (keys.buildVm);
 * - gate `ticket`: stdin is a signed note that must verify with the provisioned logs key
 *   (keys.logsPublicKey) before its body is parsed; the ticket must name the same build VM as
 *   the argument and must not have expired; an empty stdin (upstream's legacy call) is refused;
 * - a `qbuild-ticket v2` must pass the ledger checks (ticket-proof.ts: checkpoint signature,
 *   witness quorum, inclusion, consistency with the held checkpoint), and its checkpoint is
 *   then held (checkpoint-store.ts) before any grant is written; stdout then says
 *   `checkpoint-size <n>` (the size held), on refusal too, so the logs VM can prove from it;
 * - a `qbuild-ticket v1` is refused unless keys.acceptV1Tickets is true;
 * - gate `window` (explicit opt-in): an empty stdin opens the time window; a ticket is still
 *   verified and stored when one is sent.
 * Every acceptance and refusal is written to the keys VM's log; refusals also to stderr.
 */
export const handleLogReceived: ServiceHandler = async (ctx, io) => {
  const state = stateDir(io.env);
  const from = ctx.remoteDomain;
  const refuse = (why: string): number => {
    keysLog(state, 'LogReceived', from, 'refused', why);
    io.stderr.write(`qbuild: keys: LogReceived refused: ${why}\n`);
    return 1;
  };
  const config = loadKeysConfig(io.env);
  if (from !== config.logsVm) return refuse(`caller ${from} is not the logs VM (${config.logsVm})`);
  const arg = ctx.argument;
  if (arg !== config.buildVm) return refuse(`argument ${arg ?? '(none)'} is not the build VM this keys VM serves (${config.buildVm})`);
  let note: Buffer;
  try {
    note = await readCapped(io.stdin, MAX_TICKET_BYTES, `ticket larger than ${MAX_TICKET_BYTES} bytes`);
  } catch (e) {
    return refuse((e as Error).message);
  }
  const store = new TicketStore(state);
  if (note.length === 0) {
    if (config.gate !== 'window') return refuse('empty LogReceived (legacy time window) is not accepted: gate is "ticket"');
    store.openWindow(arg);
    keysLog(state, 'LogReceived', from, 'window-opened', `vm=${arg} seconds=${config.windowSeconds}`);
    return 0;
  }
  if (!config.logsPublicKey) return refuse('no logs public key provisioned (keys.logsPublicKey): cannot verify tickets');
  const { parseVerifierKey } = await import('../../protocol/note/note.js');
  const { openAnyTicket } = await import('../../protocol/ticket/open.js');
  const logsKey = parseVerifierKey(config.logsPublicKey);
  const policy = loadLedgerPolicy(config.logsVm, io.env);
  let received;
  try {
    received = openAnyTicket(note, [logsKey]);
  } catch (e) {
    if (e instanceof QbuildError) return refuse(e.message);
    throw e;
  }
  const ticket = received.ticket;
  if (ticket.buildVm !== arg) return refuse(`ticket names ${ticket.buildVm}, but the call is for ${arg}`);
  if (ticket.expires.getTime() <= Date.now()) return refuse(`ticket for ${ticket.logPath} expired at ${ticket.expires.toISOString()}`);
  let proved = '';
  if (received.version === 1) {
    if (!policy.acceptV1Tickets) return refuse(`ticket for ${ticket.logPath} is qbuild-ticket v1 (no ledger proof); this keys VM takes v1 only with keys.acceptV1Tickets`);
  } else {
    const checkpoints = new CheckpointStore(state);
    const { checkTicketProof } = await import('./ticket-proof.js');
    let held;
    try {
      held = checkpoints.held(logsKey, policy.ledgerOrigin);
    } catch (e) {
      if (e instanceof QbuildError) return refuse(e.message);
      throw e;
    }
    // The logs VM reads this line (stdout) to prove from the size this keys VM holds next time.
    const tell = (size: number) => io.stdout.write(formatHeldSize(size));
    const verdict = checkTicketProof(received.ticket, logsKey, policy, held);
    if (!verdict.ok) {
      tell(held?.checkpoint.size ?? 0);
      return refuse(`ticket for ${ticket.logPath}: ${verdict.reason}`);
    }
    // Durable before any grant: the grants of a checkpoint never outlive the record of it.
    if (verdict.newer) checkpoints.save(verdict.note);
    tell(verdict.checkpoint.size);
    proved = ` leaf=${received.ticket.leafIndex} checkpoint=${verdict.checkpoint.size}`;
  }
  const granted = store.save(note, ticket);
  keysLog(state, 'LogReceived', from, 'accepted', `vm=${arg} log=${ticket.logPath} log-sha256=${ticket.logSha256} digests=${ticket.digests.length} new=${granted} expires=${ticket.expires.toISOString()} v${received.version}${proved}`);
  return 0;
};
