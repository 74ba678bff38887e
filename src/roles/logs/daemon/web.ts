import { createReadStream, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { formatLogTime } from '../../../protocol/buildlog/format.js';
import { QbuildError, oneLine } from '../../../errors.js';
import type { LogsSettings } from '../settings.js';
import { closeQuietly, openLogForReading, resolveLogPath } from '../store.js';
import { readPublished } from './publisher.js';
import type { Publisher } from './publisher.js';
import { TAIL_JS, listPage, logPage, type BuildRow } from './web-pages.js';
import { TailHub } from './web-tail.js';

const NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const LOG_RE = /^log_(\d{4}-\d{2}-\d{2})_(\d{2})-(\d{2})-(\d{2})(\.\d{1,4})?$/;

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** Every log in the store, newest first (walks `<vm>/log_*` and `<vm>/<sub>/log_*`). */
export function listBuilds(s: LogsSettings, pub: Publisher, limit = 1000): BuildRow[] {
  const rows: BuildRow[] = [];
  const visit = (dir: string, rel: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (!NAME_RE.test(n) || n.startsWith('.')) continue;
      const abs = join(dir, n);
      const relPath = rel ? `${rel}/${n}` : n;
      let st;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 2) visit(abs, relPath, depth + 1);
        continue;
      }
      const m = LOG_RE.exec(n);
      if (!m || depth === 0) continue;
      const id = relPath.replace(/\//g, '+');
      const published = readPublished(s.state, id);
      const running = pub.running.get(relPath);
      rows.push({
        path: relPath,
        vm: relPath.slice(0, relPath.indexOf('/')),
        start: running ? formatLogTime(running.startMicros).slice(0, 19) : `${m[1]} ${m[2]}:${m[3]}:${m[4]}`,
        state: running ? 'running' : published ? (published.complete ? 'complete' : 'incomplete') : 'publishing',
        size: st.size,
        ...(published ? { commit: published.commit } : {}),
      });
    }
  };
  visit(s.store, '', 0);
  rows.sort((a, b) => (a.start === b.start ? b.path.localeCompare(a.path) : b.start.localeCompare(a.start)));
  return rows.slice(0, limit);
}

/** HTTP connections at once (pages, raw downloads and WebSockets): Node closes any past it as soon as it is accepted. */
const MAX_CONNECTIONS = 128;

/** A refusal written straight to a socket that has not been upgraded; never throws. */
function refuseUpgrade(socket: Duplex, status: string): void {
  try {
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  } catch {
    socket.destroy();
  }
}

/**
 * The live view (design §3): read-only HTML list of builds and a WebSocket tail of one log.
 * Rules: GET/HEAD only; the Host header must name this server (no DNS rebinding); a log is
 * named only by a store-relative path that resolveLogPath accepts (a regular `log_*` file,
 * no symlinks), so nothing else can be read; WebSocket upgrades must come from this server's
 * own pages (Origin). Every request and upgrade is answered inside a try: a file system error
 * (EMFILE included) is a 503 or a close code for that viewer, never a throw, because this
 * process also publishes logs and sends tickets. Viewers are bounded (TailHub, MAX_CONNECTIONS).
 */
export async function startWeb(s: LogsSettings, pub: Publisher, log: (m: string) => void): Promise<{ server: Server; address: string; close: () => Promise<void> }> {
  const { WebSocketServer } = await import('ws');
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 });
  server.maxConnections = MAX_CONNECTIONS;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  const tails = new TailHub(s.store, (p) => pub.running.has(p), log);
  const allowedHost = (h: string | undefined, port: number): boolean => {
    if (!h) return false;
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${s.listen.host}:${port}`].includes(h.toLowerCase());
  };
  const port = (): number => (server.address() as AddressInfo).port;

  const send = (res: ServerResponse, code: number, type: string, body: string): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(code, { 'content-type': type, ...SECURITY_HEADERS });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'read-only\n');
      if (!allowedHost(req.headers.host, port())) return send(res, 421, 'text/plain', 'unknown host\n');
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/':
          return send(res, 200, 'text/html; charset=utf-8', listPage(s.vm, listBuilds(s, pub)));
        case '/tail.js':
          return send(res, 200, 'text/javascript; charset=utf-8', TAIL_JS);
        case '/log': {
          const path = url.searchParams.get('path') ?? '';
          resolveLogPath(s.store, path);
          return send(res, 200, 'text/html; charset=utf-8', logPage(path));
        }
        case '/raw': {
          const fd = openLogForReading(s.store, url.searchParams.get('path') ?? '');
          res.writeHead(200, { 'content-type': 'text/plain; charset=us-ascii', ...SECURITY_HEADERS });
          if (req.method === 'HEAD') {
            closeQuietly(fd);
            return res.end();
          }
          createReadStream('', { fd }).on('error', () => res.destroy()).pipe(res);
          return;
        }
        default:
          return send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      try {
        const io = e instanceof QbuildError && e.code === 'io';
        send(res, io ? 503 : 404, 'text/plain', `${oneLine(e)}\n`);
      } catch {
        res.destroy();
      }
    }
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const origin = req.headers.origin;
      const path = url.searchParams.get('path') ?? '';
      if (url.pathname !== '/ws' || !allowedHost(req.headers.host, port())) return refuseUpgrade(socket, '403 Forbidden');
      if (origin !== undefined && !allowedHost(origin.replace(/^https?:\/\//, ''), port())) return refuseUpgrade(socket, '403 Forbidden');
      try {
        resolveLogPath(s.store, path);
      } catch {
        return refuseUpgrade(socket, '404 Not Found');
      }
      if (tails.full()) return refuseUpgrade(socket, '503 Service Unavailable');
      wss.handleUpgrade(req, socket, head, (ws) => tails.start(ws, path));
    } catch (e) {
      log(`live view: ${oneLine(e)}`);
      socket.destroy();
    }
  });
  // Malformed requests, and accept() failing for lack of descriptors: logged, never fatal.
  server.on('clientError', (_e, socket: Duplex) => {
    if (socket.writable) refuseUpgrade(socket, '400 Bad Request');
    else socket.destroy();
  });
  let lastError = '';
  const onError = (e: Error): void => {
    const m = oneLine(e);
    if (m !== lastError) log(`live view: ${m}`);
    lastError = m;
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.listen.port, s.listen.host, () => {
      server.off('error', reject);
      server.on('error', onError);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  writeFileSync(join(s.state, 'http.addr'), `${address}\n`);
  return {
    server,
    address,
    close: () => new Promise<void>((resolve) => {
      tails.closeAll();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
