import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { QbuildError } from '../../errors.js';
import { stateDir } from '../../config.js';
import { defaultTransport } from '../../protocol/qrexec/client.js';
import type { Transport } from '../../protocol/qrexec/transport.js';
import { loadSysnetConfig, type ListenAddress, type SysnetConfig } from './config.js';
import type { Work } from '../../protocol/github/webhook.js';
import { Forwarder } from './forwarder.js';
import { writeAtomically } from '../../util/durable-file.js';
import { Journal } from './journal.js';
import { createWebhookServer } from './listener.js';
import { ForwardQueue } from './queue.js';

/** Files of the listener under the state dir. */
export const SYSNET_STATE = {
  dir: 'sysnet',
  journal: 'sysnet/queue.jsonl',
  /** `HOST:PORT` actually bound, written once listening (port 0 in tests picks a free one). */
  listening: 'sysnet/listening',
} as const;

/**
 * Reads the webhook secret. Rules: the file must exist and hold at least 16 bytes after
 * removing one trailing newline; without it the listener refuses to start (an unsigned
 * webhook endpoint would let anyone queue builds). A group/world-readable file is warned about.
 */
export function readSecret(path: string, log: (l: string) => void): Buffer {
  let raw: Buffer;
  try { raw = readFileSync(path); } catch (e) {
    throw new QbuildError('config', `no webhook secret: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'}); put the secret configured in GitHub there`);
  }
  const secret = raw.subarray(0, raw.length - (raw.at(-1) === 0x0a ? 1 : 0));
  if (secret.length < 16) throw new QbuildError('config', `webhook secret in ${path} is shorter than 16 bytes`);
  if (statSync(path).mode & 0o077) log(`warning: ${path} is readable by other users; chmod 600 it`);
  return secret;
}

export interface Daemon {
  address: ListenAddress;
  /** Jobs waiting, and journal disk writes since start (group commit: fewer than jobs). */
  stats(): { depth: number; commits: number };
  stop(): Promise<void>;
}

/** Accepted jobs are logged at most this often (see startDaemon). */
const LOG_EVERY_MS = 1000;

/** Log lines on stderr (the journal under systemd); several lines go out in one write. */
function makeLog(): (line: string) => void {
  return (line) => process.stderr.write(`${new Date().toISOString()} sysnet: ${line.replace(/\n/g, `\n${new Date().toISOString()} sysnet: `)}\n`);
}

/** Starts listener + forwarder. Returns once listening; `stop` drains and closes everything. */
export async function startDaemon(opts: { config: SysnetConfig; state: string; transport: Transport; log?: (l: string) => void }): Promise<Daemon> {
  const { config } = opts;
  const log = opts.log ?? makeLog();
  const secret = readSecret(config.secretFile, log);
  const { journal, records } = await Journal.open(join(opts.state, SYSNET_STATE.journal));
  const queue = new ForwardQueue(journal, config);
  const { dropped } = queue.load(records);
  if (dropped.length) log(`VMs no longer configured, their pending deliveries dropped: ${dropped.join(', ')}`);
  await queue.compact();
  const forwarder = new Forwarder(queue, opts.transport, config.buildVms, config, log);
  // The forwarder is woken once per event-loop turn, however many jobs it accepted. Accepted
  // jobs are logged at most once a second: a lone job is described, a burst is summed up
  // (queue.jsonl has every job and GUID), so a flood of deliveries is not a flood of log writes.
  let kickPending = false;
  let burst: { first: number; last: number; count: number; delivery: string; work: Work } | undefined;
  let loggedAt = 0;
  const flushBurst = (): void => {
    const b = burst;
    if (!b) return; // already written by stop()
    burst = undefined;
    loggedAt = Date.now();
    log(b.count === 1
      ? `job ${b.first} queued: ${b.work.kind === 'trigger' ? `TriggerBuild+${b.work.component}` : 'ProcessGithubCommand'} (delivery ${b.delivery})`
      : `${b.count} jobs queued (ids ${b.first}-${b.last})`);
  };
  const queued = (id: number, delivery: string, work: Work): void => {
    if (!kickPending) {
      kickPending = true;
      setImmediate(() => { kickPending = false; forwarder.kick(); });
    }
    if (burst) { burst.count++; burst.first = Math.min(burst.first, id); burst.last = Math.max(burst.last, id); return; }
    burst = { first: id, last: id, count: 1, delivery, work };
    const wait = loggedAt + LOG_EVERY_MS - Date.now();
    if (wait > 0) setTimeout(flushBurst, wait).unref(); else setImmediate(flushBurst);
  };
  const server = createWebhookServer({
    secret,
    maxBodyBytes: config.maxBodyBytes,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
    log,
    accept: async (delivery, work) => {
      const r = await queue.accept(delivery, work);
      if (r.kind === 'accepted') queued(r.id, delivery, work);
      return r;
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new QbuildError('io', `cannot listen on ${config.listen.host}:${config.listen.port}: ${e.message}`)));
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const address = { host: config.listen.host, port: bound.port };
  const shown = address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
  writeAtomically(join(opts.state, SYSNET_STATE.listening), `${shown}\n`);
  log(`listening on ${shown}; ${queue.depth} queued; forwarding to ${config.buildVms.join(', ') || '(no build VMs)'}`);
  forwarder.kick();
  return {
    address,
    stats: () => ({ depth: queue.depth, commits: journal.commits }),
    async stop() {
      await new Promise<void>((r) => { server.close(() => r()); server.closeIdleConnections(); });
      if (burst) flushBurst();
      await forwarder.stop();
      await journal.close();
    },
  };
}

/** `qbuild role sysnet --serve`: runs until SIGTERM/SIGINT, then stops cleanly (exit 0). */
export async function serve(listenOverride?: ListenAddress): Promise<number> {
  const config = loadSysnetConfig();
  if (listenOverride) config.listen = listenOverride;
  const log = makeLog();
  const daemon = await startDaemon({ config, state: stateDir(), transport: defaultTransport(), log });
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => { log(`${sig}: stopping`); resolve(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const forced = setTimeout(() => { log('calls still running after 10 s; exiting anyway'); process.exit(0); }, 10_000);
  forced.unref();
  await daemon.stop();
  return 0;
}
