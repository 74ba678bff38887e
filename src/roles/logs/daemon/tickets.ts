import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTransport } from '../../../protocol/qrexec/client.js';
import { splitInBandExit } from '../../../protocol/qrexec/socket-service.js';
import { signTicket, type Ticket } from '../../../protocol/ticket/ticket.js';
import type { NoteSigner } from '../../../protocol/note/note.js';
import { lastLine } from '../../../util/last-line.js';
import { writeAtomically } from '../../../util/durable-file.js';
import { parseHeldSize } from '../../../protocol/ticket/held-size.js';
import { DeliveredSizes } from '../ledger/delivered.js';
import type { LedgerTicketRef } from '../ledger/ticket-v2.js';

export const LOG_RECEIVED = 'qubesbuilder.LogReceived';

export interface PendingTicket {
  id: string;
  vm: string;
  path: string;
  /** The commit that published the log: with a remote, the ticket waits until it is pushed. */
  commit: string;
  /** A v1 ticket, signed when queued (queued before the ledger existed). */
  note?: string;
  /** A v2 ticket: signed at send time, with a consistency proof from what the keys VM holds. */
  ledger?: LedgerTicketRef;
}

/** Turns a queued v2 ticket into the signed note to send, proving from `fromSize`. */
export type TicketSigner = (ref: LedgerTicketRef, fromSize: number) => Promise<string>;

export interface LastTicket {
  vm: string;
  path: string;
  sentAt: string;
  keysVm: string | null;
}

const dirs = (state: string) => ({
  pending: join(state, 'tickets', 'pending'),
  sent: join(state, 'tickets', 'sent'),
  refused: join(state, 'tickets', 'refused'),
  last: join(state, 'tickets', 'last.json'),
});

/** Signs a v1 ticket and queues it on disk (survives restarts until LogReceived accepted it). */
export function queueTicket(state: string, id: string, commit: string, t: Ticket, signer: NoteSigner): void {
  writePending(state, { id, vm: t.buildVm, path: t.logPath, commit, note: signTicket(t, signer) });
}

/** Queues a v2 ticket on disk: its ledger reference, signed when sent (sendPending). */
export function queueLedgerTicket(state: string, id: string, commit: string, vm: string, path: string, ref: LedgerTicketRef): void {
  writePending(state, { id, vm, path, commit, ledger: ref });
}

/** Queues a ticket once per log: a restart between queueing and the published record queues nothing twice. */
function writePending(state: string, rec: PendingTicket): void {
  const d = dirs(state);
  mkdirSync(d.pending, { recursive: true });
  const id = rec.id;
  if (pendingTickets(state).some((p) => p.rec.id === id) || existsSync(join(d.sent, `${id}.json`))) return;
  // Durable: a queued ticket must survive a crash until LogReceived accepted it.
  writeAtomically(join(d.pending, `${Date.now().toString().padStart(15, '0')}-${id}.json`), JSON.stringify(rec), 0o644, join(d.pending, `.${id}.tmp`));
}

export function pendingTickets(state: string): { file: string; rec: PendingTicket }[] {
  const d = dirs(state);
  let names: string[] = [];
  try {
    names = readdirSync(d.pending).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  return names.map((n) => ({ file: join(d.pending, n), rec: JSON.parse(readFileSync(join(d.pending, n), 'utf8')) as PendingTicket }));
}

/** How many tickets a keys VM refused (set aside in tickets/refused/ with their reasons). */
export function refusedTickets(state: string): number {
  try {
    return readdirSync(dirs(state).refused).filter((n) => n.endsWith('.reason')).length;
  } catch {
    return 0;
  }
}

export function lastTicket(state: string): LastTicket | undefined {
  try {
    return JSON.parse(readFileSync(dirs(state).last, 'utf8')) as LastTicket;
  } catch {
    return undefined;
  }
}

export interface LogReceivedReply {
  code: number;
  /** What the keys VM printed (v2: `checkpoint-size <n>`), at most 4 KiB. */
  stdout: string;
  /** The last line it printed on stderr (its refusal), if any. */
  reason: string;
}

/**
 * Calls `qubesbuilder.LogReceived+<build-vm>` with target `dom0` (policy redirects it to the
 * build env's keys VM, design §5) and the signed ticket on stdin.
 */
export async function callLogReceived(vm: string, note: string, env: NodeJS.ProcessEnv = process.env): Promise<LogReceivedReply> {
  const call = defaultTransport(env).call({ target: 'dom0', service: LOG_RECEIVED, argument: vm });
  const err: Buffer[] = [];
  const out: Buffer[] = [];
  let outBytes = 0;
  call.stderr.on('data', (b: Buffer) => { if (err.length < 64) err.push(b); });
  call.stdout.on('data', (b: Buffer) => { if (outBytes < 4096) { out.push(b); outBytes += b.length; } });
  call.stdin.on('error', () => { /* the callee may exit before reading everything */ });
  call.stdin.end(note);
  const code = await call.exit;
  const stdout = Buffer.concat(out).toString('utf8').slice(0, 4096);
  // A keys daemon's socket service (qrexec reports 0, no stderr) says its exit in-band.
  const inBand = code === 0 ? splitInBandExit(stdout) : undefined;
  if (inBand) return { code: inBand.code, stdout: inBand.stdout, reason: lastLine(inBand.stderr).slice(0, 200) };
  return { code, stdout, reason: lastLine(Buffer.concat(err).toString('utf8')).slice(0, 200) };
}

function callFailed(vm: string, r: LogReceivedReply): Error {
  return new Error(`${LOG_RECEIVED}+${vm} exited ${r.code}${r.reason ? `: ${r.reason}` : ''}`);
}

/** Sends a signed v1 ticket; throws when LogReceived refuses it. */
export async function sendTicket(t: PendingTicket & { note: string }, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const r = await callLogReceived(t.vm, t.note, env);
  if (r.code !== 0) throw callFailed(t.vm, r);
}

/** A keys VM's verdict on a ticket it checked and refused (it said which checkpoint it holds): sending it again cannot help. */
class RefusedByKeysVm extends Error {
  constructor(message: string, readonly note: string) { super(message); }
}

/**
 * Sends a v2 ticket proving from the size the keys VM is known to hold. Rule: when the keys
 * VM refuses and reports holding another size (`checkpoint-size <n>`), that size is recorded
 * and the ticket is re-made from it and sent once more, so a keys VM that missed a delivery
 * (or a lost record of one) is caught up without an operator. A refusal that reports the
 * size proved from is the keys VM's verdict (RefusedByKeysVm). Delivered means acknowledged:
 * exit 0 and a `checkpoint-size` line; exit 0 alone is retried. Returns the note delivered.
 */
async function sendLedgerTicket(
  rec: PendingTicket & { ledger: LedgerTicketRef }, keysVm: string, sizes: DeliveredSizes, sign: TicketSigner, env: NodeJS.ProcessEnv,
): Promise<string> {
  let from = sizes.get(keysVm);
  for (let attempt = 0; ; attempt++) {
    const note = await sign(rec.ledger, from);
    const r = await callLogReceived(rec.vm, note, env);
    const held = parseHeldSize(r.stdout);
    if (held !== undefined) sizes.set(keysVm, held);
    // An accepted v2 ticket is acknowledged by the size held. Exit 0 without it is not an
    // acceptance: a socket service (qrexec always reports 0) whose keys daemon died mid-call.
    if (r.code === 0 && held !== undefined) return note;
    if (r.code === 0) throw new Error(`${LOG_RECEIVED}+${rec.vm} ended without acknowledging the ticket (no checkpoint-size line): sending it again`);
    if (held === undefined) throw callFailed(rec.vm, r);
    if (attempt > 0 || held === from) throw new RefusedByKeysVm(callFailed(rec.vm, r).message, note);
    from = held;
  }
}

/**
 * Sends every queued ticket whose log is published (`published(commit)`: committed, and
 * pushed when there is a remote), in order; stops at the first failure (the caller retries).
 */
export async function sendPending(
  state: string, keysVmFor: Record<string, string>, published: (commit: string) => Promise<boolean>,
  log: (m: string) => void, sign: TicketSigner, env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const d = dirs(state);
  const sizes = new DeliveredSizes(state);
  for (const { file, rec } of pendingTickets(state)) {
    if (!(await published(rec.commit))) continue;
    let note: string;
    if (rec.ledger) {
      try {
        note = await sendLedgerTicket({ ...rec, ledger: rec.ledger }, keysVmFor[rec.vm] ?? rec.vm, sizes, sign, env);
      } catch (e) {
        if (!(e instanceof RefusedByKeysVm)) throw e;
        // Kept for the operator (tickets/refused/); the queue goes on: later tickets may be fine.
        mkdirSync(d.refused, { recursive: true });
        writeFileSync(join(d.refused, `${rec.id}.note`), e.note);
        writeFileSync(join(d.refused, `${rec.id}.reason`), `${e.message}\n`);
        renameSync(file, join(d.refused, `${rec.id}.json`));
        log(`ticket for ${rec.path} REFUSED by ${keysVmFor[rec.vm] ?? 'the keys VM'}: ${e.message}`);
        continue;
      }
    } else if (rec.note !== undefined) {
      note = rec.note;
      await sendTicket({ ...rec, note }, env);
    } else {
      throw new Error(`queued ticket ${rec.id} holds neither a note nor a ledger reference`);
    }
    mkdirSync(d.sent, { recursive: true });
    writeFileSync(join(d.sent, `${rec.id}.note`), note);
    renameSync(file, join(d.sent, `${rec.id}.json`));
    const last: LastTicket = { vm: rec.vm, path: rec.path, sentAt: new Date().toISOString(), keysVm: keysVmFor[rec.vm] ?? null };
    writeFileSync(d.last, JSON.stringify(last));
    log(`ticket for ${rec.path} delivered to ${last.keysVm ?? 'the keys VM'} (LogReceived+${rec.vm})`);
  }
}
