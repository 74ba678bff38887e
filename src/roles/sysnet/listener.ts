import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { QbuildError } from '../../errors.js';
import { verifyHubSignature } from '../../protocol/github/signature.js';
import { checkDeliveryId, checkEventName, classifyDelivery, isEndpoint, type EndpointPath, type Work } from '../../protocol/github/webhook.js';
import type { AcceptResult } from './queue.js';

export interface ListenerOptions {
  secret: Buffer;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Queues verified work durably; resolves once it is on disk (or says why not). */
  accept: (delivery: string, work: Work) => Promise<AcceptResult>;
  log: (line: string) => void;
}

const JSON_HINT = 'content type must be application/json (in the GitHub webhook settings, set "Content type" to application/json)';

function reply(res: ServerResponse, status: number, message: string, extra: Record<string, unknown> = {}, close = false): void {
  const body = `${JSON.stringify({ message, ...extra })}\n`;
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (close) headers.connection = 'close';
  if (status === 503) headers['retry-after'] = 60;
  if (status === 405) headers.allow = 'POST';
  res.writeHead(status, headers);
  res.end(body);
}

/** The media type of a Content-Type header, lowercased, without parameters. */
function mediaType(value: string | undefined): string {
  return (value ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The request headers the listener reads (Node joins repeated X-* headers with ", "). */
interface HookHeaders {
  contentType?: string;
  contentLength?: string;
  signature?: string;
  event?: string;
  delivery?: string;
}

function hookHeaders(req: IncomingMessage): HookHeaders {
  const h = req.headers;
  const one = (v: string | string[] | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    contentType: one(h['content-type']),
    contentLength: one(h['content-length']),
    signature: one(h['x-hub-signature-256']),
    event: one(h['x-github-event']),
    delivery: one(h['x-github-delivery']),
  };
}

/**
 * The webhook listener (design §8). Rules, in the order they are applied:
 * - only the two endpoint paths exist (404), only POST (405);
 * - Content-Type must be application/json (415, with a hint about the webhook setting);
 * - bodies over maxBodyBytes are refused (413) without reading the rest;
 * - X-Hub-Signature-256 must be the HMAC of the raw body under the secret (401), checked
 *   before anything in the body or the other headers is believed;
 * - X-GitHub-Event and X-GitHub-Delivery must be well formed (400); the body must be a JSON
 *   object, for every event including `ping` (400: `[1,2]`, `"x"`, `null`, `42` are refused);
 * - `ping` → 200; events an endpoint does not act on → 202, ignored;
 * - work: a GUID seen before → 200 (not queued again); queue full → 503 with Retry-After;
 *   otherwise 202 only after the job is fsynced in the queue.
 * Slow clients: headers must arrive within headersTimeoutMs and the whole request within
 * requestTimeoutMs (Node answers 408 and closes).
 */
export function createWebhookServer(opts: ListenerOptions): Server {
  const server = createServer({
    // Node checks request timeouts on this period; the default (30 s) would make short limits late.
    // These server-wide limits replace any per-request timer.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(opts.requestTimeoutMs / 4))),
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
  }, (req, res) => {
    try { handle(req, res, opts); } catch (e) { fail(res, opts, e); }
  });
  server.keepAliveTimeout = 5000;
  server.maxHeadersCount = 100;
  return server;
}

/** A bug, a broken request stream or a failed journal write: 500 (or a cut connection), logged. */
function fail(res: ServerResponse, opts: ListenerOptions, e: unknown): void {
  opts.log(`internal error: ${(e as Error).message}`);
  if (!res.headersSent) reply(res, 500, 'internal error', {}, true);
  else res.destroy();
}

/**
 * The checks that need no body, then the body is read (up to maxBodyBytes). Plain callbacks
 * rather than async/await: this is the per-request hot path.
 */
function handle(req: IncomingMessage, res: ServerResponse, opts: ListenerOptions): void {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (!isEndpoint(path)) return reply(res, 404, 'no such endpoint', {}, true);
  if (req.method !== 'POST') return reply(res, 405, 'only POST is accepted', {}, true);
  const headers = hookHeaders(req);
  if (mediaType(headers.contentType) !== 'application/json') return reply(res, 415, JSON_HINT, {}, true);
  const declared = Number(headers.contentLength);
  if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
    return reply(res, 413, `body larger than ${opts.maxBodyBytes} bytes`, {}, true);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (b: Buffer): void => {
    size += b.length;
    if (size <= opts.maxBodyBytes) { chunks.push(b); return; }
    // Longer than declared (or no Content-Length): stop reading, the rest is never buffered.
    req.off('data', onData);
    req.pause();
    reply(res, 413, `body larger than ${opts.maxBodyBytes} bytes`, {}, true);
  };
  req.on('data', onData);
  req.on('end', () => {
    if (size > opts.maxBodyBytes) return;
    try {
      decide(res, opts, path, headers, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), req.socket.remoteAddress);
    } catch (e) { fail(res, opts, e); }
  });
  req.on('error', (e) => fail(res, opts, e));
}

/** Everything that depends on the body, in rule order; queues work and answers once it is on disk. */
function decide(res: ServerResponse, opts: ListenerOptions, path: EndpointPath, headers: HookHeaders, body: Buffer, peer: string | undefined): void {
  if (!verifyHubSignature(opts.secret, body, headers.signature)) {
    opts.log(`401 ${path} from ${peer}: missing or invalid signature`);
    return reply(res, 401, 'missing or invalid X-Hub-Signature-256');
  }
  let event: string;
  let delivery: string;
  try {
    event = checkEventName(headers.event);
    delivery = checkDeliveryId(headers.delivery);
  } catch (e) {
    return reply(res, 400, (e as QbuildError).message);
  }
  let payload: unknown;
  try { payload = JSON.parse(body.toString('utf8')); } catch { return reply(res, 400, 'malformed JSON body'); }
  const verdict = classifyDelivery(path, event, payload);
  if (verdict.kind === 'reject') return reply(res, 400, verdict.reason);
  if (verdict.kind === 'ping') return reply(res, 200, 'pong');
  if (verdict.kind === 'ignore') return reply(res, 202, `ignored: ${verdict.reason}`);
  opts.accept(delivery, verdict.work).then((result) => {
    if (result.kind === 'duplicate') return reply(res, 200, 'duplicate delivery: already queued or forwarded');
    if (result.kind === 'full') {
      opts.log(`503 delivery ${delivery}: forward queue full`);
      return reply(res, 503, 'forward queue full: build VMs are not taking work; redeliver later');
    }
    reply(res, 202, 'queued', { job: result.id });
  }, (e: unknown) => fail(res, opts, e));
}
