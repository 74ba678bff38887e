import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { parseNote, parseVerifierKey, type NoteVerifier } from '../../src/protocol/note/note.js';
import { openCheckpoint, parseCheckpoint } from '../../src/protocol/tlog/checkpoint.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessSignerKey } from '../../src/protocol/tlog/cosignature.js';
import { verifyConsistency } from '../../src/protocol/tlog/merkle.js';
import { listenLoopback } from '../../src/util/loopback.js';

/**
 * A small C2SP tlog-witness (https://c2sp.org/tlog-witness) for tests, on 127.0.0.1 only:
 * `POST /add-checkpoint`, per-origin state on disk (`<dir>/<origin>.json`: the latest size and
 * root it cosigned), answering as the spec says:
 *   404  unknown origin            403  no signature by the log's key verifies
 *   400  old size > checkpoint size, or a malformed body
 *   409  old size is not the size it holds (body: that size, text/x.tlog.size), or same
 *        size with another root
 *   422  the consistency proof does not verify
 *   200  cosignature line (TLOG's cosignCheckpoint), after the new state is on disk
 */
export interface TestWitness {
  /** The submission prefix (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /** Its vkey (type 0x04), what the logs and keys VMs are configured with. */
  readonly vkey: string;
  readonly name: string;
  /** Every request's status and old size, in order. */
  readonly requests: { status: number; old: number | undefined; size: number | undefined }[];
  /** The size it holds for an origin (undefined: never cosigned one). */
  held(origin: string): number | undefined;
  /** Adds a log it knows (origin → the log's note verifier key). */
  trust(origin: string, vkey: string): void;
  /** Makes it hold a checkpoint it cosigned elsewhere (a newer one the log never saw, say). */
  hold(origin: string, size: number, root: Buffer): void;
  close(): Promise<void>;
}

export interface WitnessOptions {
  name: string;
  dir: string;
  /** The logs it knows: origin → the log's note verifier key (more with trust()). */
  logs?: Record<string, string>;
}

interface Held { size: number; root: string }

export async function startWitness(o: WitnessOptions): Promise<TestWitness> {
  const keys = generateWitnessKey(o.name);
  const signer = parseWitnessSignerKey(keys.signerKey);
  const logKeys = new Map<string, NoteVerifier>(Object.entries(o.logs ?? {}).map(([origin, vkey]) => [origin, parseVerifierKey(vkey)]));
  mkdirSync(o.dir, { recursive: true });
  const file = (origin: string) => join(o.dir, `${encodeURIComponent(origin)}.json`);
  const read = (origin: string): Held | undefined => {
    try {
      return JSON.parse(readFileSync(file(origin), 'utf8')) as Held;
    } catch {
      return undefined;
    }
  };
  const write = (origin: string, h: Held) => {
    writeFileSync(`${file(origin)}.tmp`, JSON.stringify(h));
    renameSync(`${file(origin)}.tmp`, file(origin));
  };
  const requests: TestWitness['requests'] = [];

  const answer = (body: string): { status: number; text: string; type?: string; old?: number; size?: number } => {
    const blank = body.indexOf('\n\n');
    if (blank < 0) return { status: 400, text: 'no blank line\n' };
    const [oldLine, ...proofLines] = body.slice(0, blank).split('\n');
    const m = /^old (0|[1-9][0-9]*)$/.exec(oldLine ?? '');
    if (!m || proofLines.length > 63 || !proofLines.every((l) => /^[A-Za-z0-9+/]{43}=$/.test(l))) return { status: 400, text: 'bad old size or proof line\n' };
    const old = Number(m[1]);
    const note = body.slice(blank + 2);
    let origin: string;
    let size: number;
    try {
      const cp = parseCheckpoint(parseNote(note).text);
      origin = cp.origin;
      size = cp.size;
    } catch {
      return { status: 400, text: 'not a checkpoint\n', old };
    }
    const logKey = logKeys.get(origin);
    if (!logKey) return { status: 404, text: 'unknown log\n', old, size };
    let cp;
    try {
      cp = openCheckpoint(note, [logKey], origin);
    } catch {
      return { status: 403, text: 'no valid log signature\n', old, size };
    }
    if (old > cp.size) return { status: 400, text: 'old size is larger than the checkpoint\n', old, size };
    const held = read(origin);
    const heldSize = held?.size ?? 0;
    if (old !== heldSize) return { status: 409, text: `${heldSize}\n`, type: 'text/x.tlog.size', old, size };
    const proof = proofLines.map((l) => Buffer.from(l, 'base64'));
    if (held && old === cp.size) {
      if (held.root !== cp.root.toString('base64')) return { status: 409, text: `${heldSize}\n`, type: 'text/x.tlog.size', old, size };
    } else if (old === 0 ? proof.length !== 0 : !verifyConsistency(old, cp.size, Buffer.from(held!.root, 'base64'), cp.root, proof)) {
      return { status: 422, text: 'consistency proof does not verify\n', old, size };
    }
    // Persisted before answering; one request at a time (Node runs this synchronously).
    write(origin, { size: cp.size, root: cp.root.toString('base64') });
    const line = cosignCheckpoint(parseNote(note).text, signer, Math.floor(Date.now() / 1000));
    return { status: 200, text: line, old, size };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/add-checkpoint') {
        res.writeHead(404).end();
        return;
      }
      const a = answer(Buffer.concat(chunks).toString('utf8'));
      requests.push({ status: a.status, old: a.old, size: a.size });
      res.writeHead(a.status, { 'content-type': a.type ?? 'text/plain; charset=utf-8' }).end(a.text);
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    vkey: keys.verifierKey,
    name: o.name,
    requests,
    held: (origin) => read(origin)?.size,
    trust: (origin, vkey) => { logKeys.set(origin, parseVerifierKey(vkey)); },
    hold: (origin, size, root) => write(origin, { size, root: root.toString('base64') }),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
