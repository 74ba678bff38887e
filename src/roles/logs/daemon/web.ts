import { closeSync, createReadStream, fstatSync, openSync, readdirSync, readSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { formatLogTime } from '../../../protocol/buildlog/format.js';
import { oneLine } from '../../../errors.js';
import type { LogsSettings } from '../settings.js';
import { resolveLogPath } from '../store.js';
import { readPublished } from './publisher.js';
import type { Publisher } from './publisher.js';
import { TAIL_JS, listPage, logPage, type BuildRow } from './web-pages.js';

/** The first view of a log shows at most this much of its end. */
const INITIAL_TAIL = 256 * 1024;
const POLL_MS = 100;
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

/**
 * The live view (DESIGN §3): read-only HTML list of builds and a WebSocket tail of one log.
 * Rules: GET/HEAD only; the Host header must name this server (no DNS rebinding); a log is
 * named only by a store-relative path that resolveLogPath accepts, so nothing outside the
 * store can be read; WebSocket upgrades must come from this server's own pages (Origin).
 */
export async function startWeb(s: LogsSettings, pub: Publisher, log: (m: string) => void): Promise<{ server: Server; address: string; close: () => Promise<void> }> {
  const { WebSocketServer } = await import('ws');
  const server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const allowedHost = (h: string | undefined, port: number): boolean => {
    if (!h) return false;
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${s.listen.host}:${port}`].includes(h.toLowerCase());
  };
  const port = (): number => (server.address() as AddressInfo).port;

  const send = (res: ServerResponse, code: number, type: string, body: string): void => {
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
          const abs = resolveLogPath(s.store, url.searchParams.get('path') ?? '');
          res.writeHead(200, { 'content-type': 'text/plain; charset=us-ascii', ...SECURITY_HEADERS });
          if (req.method === 'HEAD') return res.end();
          createReadStream(abs).on('error', () => res.destroy()).pipe(res);
          return;
        }
        default:
          return send(res, 404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      send(res, 404, 'text/plain', `${oneLine(e)}\n`);
    }
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const origin = req.headers.origin;
    let abs: string | undefined;
    try {
      if (url.pathname !== '/ws' || !allowedHost(req.headers.host, port())) throw new Error('refused');
      if (origin !== undefined && !allowedHost(origin.replace(/^https?:\/\//, ''), port())) throw new Error('refused');
      abs = resolveLogPath(s.store, url.searchParams.get('path') ?? '');
    } catch {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const path = url.searchParams.get('path')!;
    wss.handleUpgrade(req, socket, head, (ws) => {
      const fd = openSync(abs!, 'r');
      let pos = Math.max(0, fstatSync(fd).size - INITIAL_TAIL);
      let lastState = '';
      const buf = Buffer.allocUnsafe(1 << 20);
      const pump = (): void => {
        try {
          const size = fstatSync(fd).size;
          while (pos < size && ws.bufferedAmount < 4 << 20) {
            const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
            if (n <= 0) break;
            pos += n;
            ws.send(JSON.stringify({ text: buf.toString('latin1', 0, n) }));
          }
          const state = pub.running.has(path) ? 'running' : 'finished';
          if (state !== lastState) {
            lastState = state;
            ws.send(JSON.stringify({ state }));
          }
        } catch (e) {
          log(`live view: ${oneLine(e)}`);
          ws.close();
        }
      };
      pump();
      const timer = setInterval(pump, POLL_MS);
      ws.on('message', () => { /* read-only: ignore */ });
      ws.on('close', () => { clearInterval(timer); closeSync(fd); });
      ws.on('error', () => ws.terminate());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(s.listen.port, s.listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  writeFileSync(join(s.state, 'http.addr'), `${address}\n`);
  return {
    server,
    address,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
