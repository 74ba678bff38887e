import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A local stand-in of the GitHub REST API for the endpoints the build VM's reporter uses,
 * answering as api.github.com does (status codes, JSON shapes, `Link` pagination, the
 * `Bad credentials` 401, 404 `Not Found`, 422 `Validation Failed`), on 127.0.0.1 only. It
 * records every call; `down()` closes the port (connections refused, as for a network outage)
 * and `up()` opens it again on the same port, keeping the repositories' state.
 *   GET    /repos/O/R/issues?state=open|closed|all&per_page&page
 *   POST   /repos/O/R/issues                       {title, body, labels?}
 *   GET    /repos/O/R/issues/N/comments?per_page&page
 *   POST   /repos/O/R/issues/N/comments            {body}
 *   POST   /repos/O/R/issues/N/labels              {labels: [...]}
 *   DELETE /repos/O/R/issues/N/labels/NAME
 */

export interface Call { method: string; path: string; query: Record<string, string>; body: unknown; status: number }

export interface FakeLabel { id: number; node_id: string; url: string; name: string; color: string; default: boolean; description: string | null }
export interface FakeComment { id: number; body: string; created_at: string; user: { login: string } }
export interface FakeIssue {
  number: number; title: string; body: string; state: 'open' | 'closed'; labels: FakeLabel[]; comments: FakeComment[];
  created_at: string; pull_request?: { url: string };
}

export interface GithubApi {
  /** `http://127.0.0.1:PORT` (what the reporter takes as its API base URL). */
  readonly url: string;
  readonly port: number;
  readonly calls: Call[];
  /** Repository `owner/name` → its issues, in creation order. */
  issues(repo: string): FakeIssue[];
  /** Makes a repository (`owner/name`) exist. */
  addRepo(repo: string): void;
  /** Makes the next `n` requests answer `status` (with `headers`), e.g. 502 or a 403 rate limit. */
  failNext(n: number, status: number, headers?: Record<string, string>, message?: string): void;
  /** The next `method` request whose path matches `path` is carried out, then its connection is cut before the answer (a lost reply). */
  cutReply(method: string, path: RegExp): void;
  /**
   * The next `method` request whose path matches `path` (and JSON body `body`) is carried out,
   * then its answer waits until `release()`: `arrived` resolves once GitHub "has" it, so a test
   * can kill the caller between the change and the answer.
   */
  holdReply(method: string, path: RegExp, body?: RegExp): { arrived: Promise<void>; release(): void };
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const LOGIN = 'qbuild-bot';

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = status === 204 ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json',
    'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
    ...headers,
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return Symbol.for('bad-json');
  }
}

export async function startGithubApi(token: string, repos: string[]): Promise<GithubApi> {
  const state = new Map<string, FakeIssue[]>(repos.map((r) => [r, []]));
  const calls: Call[] = [];
  const failures: { status: number; headers: Record<string, string>; message: string }[] = [];
  const cuts: { method: string; path: RegExp }[] = [];
  const holds: { method: string; path: RegExp; body?: RegExp; arrive: () => void; released: Promise<void> }[] = [];
  let nextId = 1000;
  const sockets = new Set<Socket>();
  let port = 0;
  let server: Server | undefined;

  const issueJson = (repo: string, i: FakeIssue, base: string) => ({
    url: `${base}/repos/${repo}/issues/${i.number}`, html_url: `https://github.com/${repo}/issues/${i.number}`,
    id: i.number + 500000, node_id: `I_${i.number}`, number: i.number, title: i.title, body: i.body, state: i.state,
    user: { login: LOGIN, id: 1, type: 'Bot' }, labels: i.labels, assignees: [], comments: i.comments.length,
    created_at: i.created_at, updated_at: i.created_at, closed_at: null, locked: false, author_association: 'NONE',
    ...(i.pull_request ? { pull_request: i.pull_request } : {}),
  });
  const commentJson = (repo: string, n: number, c: FakeComment, base: string) => ({
    id: c.id, node_id: `IC_${c.id}`, url: `${base}/repos/${repo}/issues/comments/${c.id}`,
    html_url: `https://github.com/${repo}/issues/${n}#issuecomment-${c.id}`, issue_url: `${base}/repos/${repo}/issues/${n}`,
    body: c.body, user: { login: LOGIN, id: 1, type: 'Bot' }, created_at: c.created_at, updated_at: c.created_at, author_association: 'NONE',
  });
  const label = (name: string): FakeLabel => ({ id: nextId++, node_id: `LA_${name}`, url: `https://api.github.com/labels/${encodeURIComponent(name)}`, name, color: 'ededed', default: false, description: null });

  /** GitHub's pagination: `page`/`per_page` (max 100, default 30) and a `Link` header with next/last. */
  const page = <T>(res: ServerResponse, req: URL, items: T[]): void => {
    const per = Math.min(100, Math.max(1, Number(req.searchParams.get('per_page') ?? 30) || 30));
    const p = Math.max(1, Number(req.searchParams.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / per));
    const link = (n: number, rel: string) => {
      const u = new URL(req.href);
      u.searchParams.set('page', String(n));
      u.searchParams.set('per_page', String(per));
      return `<${u.href}>; rel="${rel}"`;
    };
    const links = p < last ? [link(p + 1, 'next'), link(last, 'last')] : [];
    send(res, 200, items.slice((p - 1) * per, p * per), links.length ? { link: links.join(', ') } : {});
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const base = `http://127.0.0.1:${port}`;
    const u = new URL(req.url ?? '/', base);
    const body = await readJson(req);
    const call: Call = { method: req.method ?? 'GET', path: u.pathname, query: Object.fromEntries(u.searchParams), body, status: 0 };
    calls.push(call);
    const cut = cuts.findIndex((c) => c.method === call.method && c.path.test(u.pathname));
    if (cut >= 0) cuts.splice(cut, 1);
    const held = holds.findIndex((x) => x.method === call.method && x.path.test(u.pathname) && (!x.body || x.body.test(JSON.stringify(body ?? null))));
    const hold = held >= 0 ? holds.splice(held, 1)[0] : undefined;
    const reply = (status: number, b: unknown, h?: Record<string, string>) => {
      call.status = status;
      if (cut >= 0) res.socket?.destroy();
      else if (hold) {
        hold.arrive();
        void hold.released.then(() => { if (!res.destroyed && res.socket && !res.socket.destroyed) send(res, status, b, h); });
      } else send(res, status, b, h);
    };
    const notFound = () => reply(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    const invalid = (field: string, code = 'missing_field') => reply(422, { message: 'Validation Failed', errors: [{ resource: 'Issue', code, field }], documentation_url: DOCS, status: '422' });

    const f = failures.shift();
    if (f) return reply(f.status, { message: f.message, documentation_url: DOCS, status: String(f.status) }, f.headers);
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) return reply(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    if (body === Symbol.for('bad-json')) return reply(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' });

    const m = /^\/repos\/([^/]+\/[^/]+)\/issues(?:\/(\d+)(?:\/(comments|labels)(?:\/([^/]+))?)?)?$/.exec(u.pathname);
    if (!m) return notFound();
    const repo = decodeURIComponent(m[1]!);
    const issues = state.get(repo);
    if (!issues) return notFound();
    const b = (body ?? {}) as Record<string, unknown>;
    if (m[2] === undefined) {
      if (req.method === 'GET') {
        const want = u.searchParams.get('state') ?? 'open';
        // Newest first, as GitHub's default sort (created, desc).
        return page(res, u, issues.filter((i) => want === 'all' || i.state === want).slice().reverse().map((i) => issueJson(repo, i, base)));
      }
      if (req.method === 'POST') {
        if (typeof b.title !== 'string' || b.title === '') return invalid('title');
        const issue: FakeIssue = {
          number: issues.length + 1, title: b.title, body: typeof b.body === 'string' ? b.body : '', state: 'open',
          labels: Array.isArray(b.labels) ? (b.labels as string[]).map(label) : [], comments: [], created_at: new Date().toISOString(),
        };
        issues.push(issue);
        return reply(201, issueJson(repo, issue, base), { location: `${base}/repos/${repo}/issues/${issue.number}` });
      }
      return notFound();
    }
    const issue = issues.find((i) => i.number === Number(m[2]));
    if (!issue) return notFound();
    if (m[3] === 'comments' && m[4] === undefined) {
      if (req.method === 'GET') return page(res, u, issue.comments.map((c) => commentJson(repo, issue.number, c, base)));
      if (req.method === 'POST') {
        if (typeof b.body !== 'string' || b.body === '') return invalid('body');
        const c: FakeComment = { id: nextId++, body: b.body, created_at: new Date().toISOString(), user: { login: LOGIN } };
        issue.comments.push(c);
        return reply(201, commentJson(repo, issue.number, c, base));
      }
    }
    if (m[3] === 'labels') {
      if (req.method === 'POST' && m[4] === undefined) {
        if (!Array.isArray(b.labels) || !b.labels.every((l) => typeof l === 'string' && l !== '')) return invalid('labels', 'invalid');
        for (const name of b.labels as string[]) if (!issue.labels.some((l) => l.name === name)) issue.labels.push(label(name));
        return reply(200, issue.labels);
      }
      if (req.method === 'DELETE' && m[4] !== undefined) {
        const name = decodeURIComponent(m[4]);
        const at = issue.labels.findIndex((l) => l.name === name);
        if (at < 0) return reply(404, { message: 'Label does not exist', documentation_url: DOCS, status: '404' });
        issue.labels.splice(at, 1);
        return reply(200, issue.labels);
      }
    }
    return notFound();
  };

  const listen = async (): Promise<void> => {
    const s = createServer((req, res) => { handle(req, res).catch(() => { if (!res.headersSent) send(res, 500, { message: 'Server Error' }); }); });
    s.on('connection', (c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => { s.off('error', reject); resolve(); });
    });
    s.unref();
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const shut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const c of sockets) c.destroy();
    await new Promise<void>((r) => s.close(() => r()));
  };

  await listen();
  return {
    get url() { return `http://127.0.0.1:${port}`; },
    get port() { return port; },
    calls,
    issues: (repo) => state.get(repo) ?? [],
    addRepo: (repo) => { if (!state.has(repo)) state.set(repo, []); },
    failNext: (n, status, headers = {}, message = status >= 500 ? 'Server Error' : 'API rate limit exceeded') => {
      for (let i = 0; i < n; i++) failures.push({ status, headers, message });
    },
    cutReply: (method, path) => { cuts.push({ method, path }); },
    holdReply: (method, path, body) => {
      let arrive!: () => void;
      let release!: () => void;
      const arrived = new Promise<void>((r) => { arrive = r; });
      const released = new Promise<void>((r) => { release = r; });
      holds.push({ method, path, ...(body ? { body } : {}), arrive, released });
      return { arrived, release };
    },
    down: shut,
    up: listen,
    close: shut,
  };
}
