import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLoopback } from '../util/loopback.js';

/** The real CGI program git ships for smart HTTP (Debian's path). */
export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitServer {
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** The clone URL of `<root>/<name>` (a bare repository, e.g. `foo.git`). */
  url(name: string): string;
  /** Requests served so far (method and path), for tests that assert what the client asked. */
  readonly requests: string[];
  /** Stops listening, drops open connections and kills running backends. */
  close(): Promise<void>;
}

/**
 * Serves every bare repository under `root` over smart HTTP with the REAL `git http-backend`,
 * run as a CGI per request behind a tiny node server on 127.0.0.1 (free port): the dev box's
 * stand-in for GitHub (qbuild demo, tests, bench). Read-only (upload-pack); maintainers push
 * into `root` with plain `git push` to the directory.
 */
export async function startGitServer(root: string): Promise<GitServer> {
  const requests: string[] = [];
  const children = new Set<ReturnType<typeof spawn>>();
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    runBackend(root, req, res, children);
  });
  const port = await listenLoopback(server);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    requests,
    url: (name) => `${baseUrl}/${name}`,
    close: () => new Promise<void>((resolve) => {
      for (const c of children) c.kill('SIGKILL');
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function runBackend(root: string, req: IncomingMessage, res: ServerResponse, children: Set<ReturnType<typeof spawn>>): void {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.slice(1),
    REMOTE_ADDR: '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    // Protocol v2 is asked for with this header; the backend reads it from the environment.
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: String(req.headers['content-length']) } : {}),
  };
  const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  child.on('error', () => { if (!res.headersSent) { res.statusCode = 500; } res.end(); });
  child.stdin.on('error', () => {});
  req.pipe(child.stdin);
  child.stderr.resume();

  // CGI output: header lines, a blank line, then the body.
  let head = Buffer.alloc(0);
  let inBody = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (inBody) { res.write(chunk); return; }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : undefined;
    if (!end) return;
    for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') res.statusCode = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    inBody = true;
    const rest = head.subarray(end.at + end.len);
    if (rest.length) res.write(rest);
  });
  child.stdout.on('end', () => res.end());
}
