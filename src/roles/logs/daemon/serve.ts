import { chmodSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { QbuildError, oneLine } from '../../../errors.js';
import { claimDaemonLock } from '../spool.js';
import { ensureNoteKey, ensurePgpKey } from '../keys.js';
import type { LogsSettings } from '../settings.js';
import { RetryLoop } from './backoff.js';
import { LogRepo } from './git-store.js';
import { loadCommitSigner } from './pgp.js';
import { Publisher } from './publisher.js';
import { sendPending } from './tickets.js';
import { startWeb } from './web.js';
import { signTicketV2 } from '../../../protocol/ticket/ticket-v2.js';
import { Ledger, defaultOrigin } from '../ledger/ledger.js';
import { ledgerTicket, type LedgerTicketRef } from '../ledger/ticket-v2.js';

/** The daemon also rescans the spool this often, in case a notification was lost. */
const RESCAN_MS = 1000;

/** Creates the store, its git repository and the keys when missing (idempotent). */
export async function initStore(s: LogsSettings, log: (m: string) => void): Promise<void> {
  mkdirSync(s.state, { recursive: true, mode: 0o700 });
  const repo = new LogRepo(s.store, s.branch);
  if (!repo.isInitialised()) {
    await repo.init();
    log(`initialised log store ${s.store} (branch ${s.branch})`);
  }
  const note = ensureNoteKey(s);
  if (note.created) log(`generated ticket signing key ${s.noteKeyFile}`);
  const pgp = await ensurePgpKey(s);
  if (pgp.created) log(`generated commit signing key ${pgp.fingerprint}`);
}

export interface RunningDaemon {
  httpAddress: string;
  stop(): Promise<void>;
}

/**
 * `qbuild role logs --serve`: owns the store. Publishes finished logs as signed commits,
 * pushes them (retrying, never blocking), delivers tickets to the keys VMs, closes logs whose
 * writer died, and serves the live view.
 */
export async function serveLogs(s: LogsSettings, log: (m: string) => void): Promise<RunningDaemon> {
  await initStore(s, log);
  let lock: { release: () => void };
  try {
    lock = claimDaemonLock(s.state);
  } catch (e) {
    throw new QbuildError('io', oneLine(e));
  }
  const repo = new LogRepo(s.store, s.branch);
  const commitSigner = await loadCommitSigner(s.pgpKeyFile);
  const { signer: noteSigner } = ensureNoteKey(s);
  let ledger: Ledger;
  try {
    ledger = Ledger.open(s.state, defaultOrigin(s.vm), noteSigner);
  } catch (e) {
    lock.release();
    throw e;
  }
  log(`ledger ${ledger.origin}: ${ledger.size} entries, last checkpoint ${ledger.lastSigned()?.checkpoint.size ?? 'none'}`);

  const pusher = new RetryLoop(async () => {
    if (!s.remote) return;
    if ((await repo.unpushed()) === 0) return;
    const token = s.remote.tokenFile ? readFileSync(s.remote.tokenFile, 'utf8').trim() : undefined;
    const oid = await repo.push(s.remote.url, token);
    log(`pushed ${oid.slice(0, 12)} to ${s.remote.url.replace(/\/\/[^@/]*@/, '//')}`);
    tickets.kick();
  }, 60_000, (m) => log(`push: ${m}`));
  // A ticket names a published log: committed, and pushed when a remote is configured.
  const published = (commit: string): Promise<boolean> => (s.remote ? repo.isPushed(commit) : Promise.resolve(true));
  // The latest checkpoint may stand in for a ticket's own only once it is published (HEAD committed and pushed).
  const signTicket = async (ref: LedgerTicketRef, from: number): Promise<string> => {
    const head = await repo.head();
    const latest = head && (await published(head)) ? ledger.lastSigned() : undefined;
    return signTicketV2(ledgerTicket(ledger, ref, from, latest), noteSigner);
  };
  const tickets = new RetryLoop(() => sendPending(s.state, s.keysVmFor, published, log, signTicket), 60_000, (m) => log(`ticket: ${m}`));
  const publisher = new Publisher(s, repo, commitSigner, noteSigner, ledger, () => pusher.kick(), () => tickets.kick(), log);

  await publisher.scan();
  pusher.kick();
  tickets.kick();
  const rescan = setInterval(() => void publisher.scan(), RESCAN_MS);

  const sock = await listenSocket(s.socket, () => void publisher.scan(), log);
  // The live view is a convenience: if its port is taken, the evidence path keeps running.
  const web = await startWeb(s, publisher, log).catch((e: Error) => {
    log(`live view not started on ${s.listen.host}:${s.listen.port}: ${oneLine(e)}`);
    return undefined;
  });
  log(`serving: store ${s.store}${web ? `, live view http://${web.address}/` : ''}`);
  return {
    httpAddress: web?.address ?? '',
    async stop() {
      clearInterval(rescan);
      pusher.stop();
      tickets.stop();
      await web?.close();
      await new Promise<void>((r) => sock.close(() => r()));
      try { unlinkSync(s.socket); } catch { /* gone */ }
      lock.release();
    },
  };
}

/** The local socket BuildLog services notify on; any line is a hint to rescan the spool. */
function listenSocket(path: string, onEvent: () => void, log: (m: string) => void): Promise<Server> {
  try { unlinkSync(path); } catch { /* no stale socket */ }
  const server = createServer((c) => {
    let n = 0;
    c.on('data', (b: Buffer) => {
      n += b.length;
      if (n > 4096) c.destroy();
      else if (b.includes(10)) onEvent();
    });
    c.on('error', () => c.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
    server.on('error', (e) => log(`socket: ${oneLine(e)}`));
  });
}
