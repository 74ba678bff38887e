import { createConnection } from 'node:net';

/** What a BuildLog service tells the daemon (one JSON line per connection). */
export type DaemonEvent = { event: 'open' | 'done'; path: string };

/**
 * Tells the daemon about a log, best effort: gives up after `timeoutMs` and never throws.
 * The spool records are the truth; this only saves the daemon a polling interval.
 */
export function notifyDaemon(socket: string, ev: DaemonEvent, timeoutMs = 300): Promise<void> {
  return new Promise((resolve) => {
    const c = createConnection(socket);
    const done = (): void => {
      clearTimeout(timer);
      c.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    c.on('error', done);
    c.on('close', done);
    c.on('connect', () => {
      c.end(`${JSON.stringify(ev)}\n`);
    });
  });
}
