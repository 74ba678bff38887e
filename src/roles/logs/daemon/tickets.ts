import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultTransport } from '../../../protocol/qrexec/client.js';
import { signTicket, type Ticket } from '../../../protocol/ticket/ticket.js';
import type { NoteSigner } from '../../../protocol/note/note.js';
import { lastLine } from '../../../util/last-line.js';
import { writeAtomically } from '../../../util/durable-file.js';

export const LOG_RECEIVED = 'qubesbuilder.LogReceived';

export interface PendingTicket {
  id: string;
  vm: string;
  path: string;
  /** The commit that published the log: with a remote, the ticket waits until it is pushed. */
  commit: string;
  note: string;
}

export interface LastTicket {
  vm: string;
  path: string;
  sentAt: string;
  keysVm: string | null;
}

const dirs = (state: string) => ({
  pending: join(state, 'tickets', 'pending'),
  sent: join(state, 'tickets', 'sent'),
  last: join(state, 'tickets', 'last.json'),
});

/** Signs a ticket and queues it on disk (survives restarts until LogReceived accepted it). */
export function queueTicket(state: string, id: string, commit: string, t: Ticket, signer: NoteSigner): void {
  const d = dirs(state);
  mkdirSync(d.pending, { recursive: true });
  const rec: PendingTicket = { id, vm: t.buildVm, path: t.logPath, commit, note: signTicket(t, signer) };
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

export function lastTicket(state: string): LastTicket | undefined {
  try {
    return JSON.parse(readFileSync(dirs(state).last, 'utf8')) as LastTicket;
  } catch {
    return undefined;
  }
}

/**
 * Calls `qubesbuilder.LogReceived+<build-vm>` with target `dom0` (policy redirects it to the
 * build env's keys VM, design §5) and the signed ticket on stdin.
 */
export async function sendTicket(t: PendingTicket, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const call = defaultTransport(env).call({ target: 'dom0', service: LOG_RECEIVED, argument: t.vm });
  const err: Buffer[] = [];
  call.stderr.on('data', (b: Buffer) => { if (err.length < 64) err.push(b); });
  call.stdout.resume();
  call.stdin.on('error', () => { /* the callee may exit before reading everything */ });
  call.stdin.end(t.note);
  const code = await call.exit;
  if (code !== 0) {
    const msg = lastLine(Buffer.concat(err).toString('utf8'));
    throw new Error(`${LOG_RECEIVED}+${t.vm} exited ${code}${msg ? `: ${msg.slice(0, 200)}` : ''}`);
  }
}

/**
 * Sends every queued ticket whose log is published (`published(commit)`: committed, and
 * pushed when there is a remote), in order; stops at the first failure (the caller retries).
 */
export async function sendPending(
  state: string, keysVmFor: Record<string, string>, published: (commit: string) => Promise<boolean>,
  log: (m: string) => void, env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const d = dirs(state);
  for (const { file, rec } of pendingTickets(state)) {
    if (!(await published(rec.commit))) continue;
    await sendTicket(rec, env);
    mkdirSync(d.sent, { recursive: true });
    writeFileSync(join(d.sent, `${rec.id}.note`), rec.note);
    renameSync(file, join(d.sent, `${rec.id}.json`));
    const last: LastTicket = { vm: rec.vm, path: rec.path, sentAt: new Date().toISOString(), keysVm: keysVmFor[rec.vm] ?? null };
    writeFileSync(d.last, JSON.stringify(last));
    log(`ticket for ${rec.path} delivered to ${last.keysVm ?? 'the keys VM'} (LogReceived+${rec.vm})`);
  }
}
