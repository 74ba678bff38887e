import { request, type Agent, type IncomingHttpHeaders } from 'node:http';

export interface HttpReply { status: number; body: string; headers: IncomingHttpHeaders }

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent;
}

/** One HTTP request to a test server on 127.0.0.1:`port`; resolves with the whole reply (any status). */
export function httpRequest(port: number, path: string, o: HttpRequestOptions = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers ?? {}, ...(o.agent ? { agent: o.agent } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(o.body ?? '');
  });
}
