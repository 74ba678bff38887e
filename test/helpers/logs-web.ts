import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { listenLoopback } from './net.js';

const run = promisify(execFile);

export interface LogsWeb {
  /** What a pillar's `github-report:logs-url` names: `http://127.0.0.1:PORT/blob/main`. */
  url: string;
  close(): void;
}

/**
 * The published logs repository's web view, as a report's links reach it: GET
 * /blob/main/<path> → that file as committed at HEAD of the git repository `store()` names
 * (the logs qube's), 404 otherwise. Loopback; does not keep the process alive.
 */
export async function startLogsWeb(store: () => string): Promise<LogsWeb> {
  const server = createServer((req, res) => {
    const path = decodeURI(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/blob\/main\//, '');
    run('git', ['-C', store(), 'show', `HEAD:${path}`], { maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' })
      .then((r) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(r.stdout); })
      .catch(() => { res.writeHead(404); res.end('not found'); });
  });
  const port = await listenLoopback(server);
  server.unref();
  return { url: `http://127.0.0.1:${port}/blob/main`, close: () => server.close() };
}
