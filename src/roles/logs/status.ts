import { existsSync, readFileSync } from 'node:fs';
import { LogRepo } from './daemon/git-store.js';
import { lastTicket, pendingTickets, refusedTickets } from './daemon/tickets.js';
import { ledgerStatus } from './ledger/status.js';
import { noteVerifierKey, pgpPublicFile } from './keys.js';
import type { LogsSettings } from './settings.js';
import { listSpool } from './spool.js';

/** `qbuild role logs status`: what is waiting and what was last delivered, one fact a line. */
export async function status(s: LogsSettings): Promise<string[]> {
  const repo = new LogRepo(s.store, s.branch);
  const out: string[] = [`store: ${s.store}`];
  if (!repo.isInitialised()) return [...out, 'store not initialised (run: qbuild role logs init)'];
  const spool = listSpool(s.state);
  out.push(`head: ${(await repo.head()) ?? '(no commits)'}`);
  out.push(`remote: ${s.remote ? s.remote.url.replace(/\/\/[^@/]*@/, '//') : '(none)'}`);
  out.push(`pending pushes: ${s.remote ? await repo.unpushed() : 0}`);
  out.push(`open logs: ${spool.filter((e) => e.st === 'open').length}`);
  out.push(`logs waiting to be committed: ${spool.filter((e) => e.st === 'done').length}`);
  out.push(`pending tickets: ${pendingTickets(s.state).length}`);
  out.push(`refused tickets: ${refusedTickets(s.state)}`);
  out.push(`ledger: ${ledgerStatus(s.state)}`);
  const last = lastTicket(s.state);
  out.push(`last ticket: ${last ? `${last.path} → ${last.keysVm ?? 'keys VM'} (LogReceived+${last.vm}) at ${last.sentAt}` : '(none)'}`);
  try {
    out.push(`ticket verifier key: ${noteVerifierKey(s)}`);
  } catch {
    out.push('ticket verifier key: (none)');
  }
  try {
    const addr = readFileSync(`${s.state}/http.addr`, 'utf8').trim();
    out.push(`live view: http://${addr}/`);
  } catch { /* daemon never ran */ }
  if (existsSync(pgpPublicFile(s))) {
    const { readKey } = await import('openpgp');
    const k = await readKey({ armoredKey: readFileSync(pgpPublicFile(s), 'utf8') });
    out.push(`commit signing key: ${k.getFingerprint().toUpperCase()}`);
  }
  return out;
}
