import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { cosignCheckpoint, generateWitnessKey, openCosignatures, parseWitnessSignerKey, parseWitnessVerifierKey } from '../../../src/protocol/tlog/cosignature.js';
import { leafHash, MerkleTree } from '../../../src/protocol/tlog/merkle.js';
import { addCheckpointBody, collectCosignatures } from '../../../src/roles/logs/ledger/witness-client.js';
import { parseLogsSettings } from '../../../src/roles/logs/settings.js';
import { listenLoopback } from '../../../src/util/loopback.js';
import { startWitness, type TestWitness } from '../../helpers/witness.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qbuild-witness-');
const ORIGIN = 'qbuild.logs/logs-test';
const logKeys = generateNoteKey('qbuild-logs/logs-test');
const logSigner = parseSignerKey(logKeys.signerKey);
const open: TestWitness[] = [];
afterEach(async () => { for (const w of open.splice(0)) await w.close(); });

async function witness(name = 'witness.test/w1'): Promise<TestWitness> {
  const w = await startWitness({ name, dir: tmp(), logs: { [ORIGIN]: logKeys.verifierKey } });
  open.push(w);
  return w;
}

/** A log that grows by `n` leaves and signs its checkpoint. */
function grow(tree: MerkleTree, n: number): string {
  for (let i = 0; i < n; i++) tree.append(leafHash(Buffer.from(`entry ${tree.size}`)));
  return signCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root(), extensions: [] }, logSigner);
}

describe('collectCosignatures (C2SP tlog-witness client)', () => {
  it('a witness cosigns a growing log, each time from the size it last cosigned', async () => {
    const w = await witness();
    const key = parseWitnessVerifierKey(w.vkey);
    const settings = { witnesses: [{ url: w.url, vkey: w.vkey }] };
    const tree = new MerkleTree();
    let old = 0;
    for (const n of [1, 2, 5, 300]) {
      const note = grow(tree, n);
      const cosigned = await collectCosignatures(settings, note, old, old === 0 ? [] : tree.consistencyProof(old));
      expect(cosigned.startsWith(note)).toBe(true);
      expect(openCosignatures(cosigned, [key]).map((c) => c.name)).toEqual([w.name]);
      expect(w.held(ORIGIN)).toBe(tree.size);
      old = tree.size;
    }
    expect(w.requests.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it('after a 409 it retries once from the witness size when it can prove consistency from there', async () => {
    const w = await witness();
    const tree = new MerkleTree();
    const first = grow(tree, 3);
    await collectCosignatures({ witnesses: [{ url: w.url, vkey: w.vkey }] }, first, 0, []);
    const note = grow(tree, 4);
    // The log believes the witness has never seen it (old 0): 409 says 3, the retry sends a proof from 3.
    const cosigned = await collectCosignatures({ witnesses: [{ url: w.url, vkey: w.vkey }] }, note, 0, [], { proofFrom: (s) => tree.consistencyProof(s) });
    expect(w.requests.map((r) => [r.status, r.old])).toEqual([[200, 0], [409, 0], [200, 3]]);
    expect(openCosignatures(cosigned, [parseWitnessVerifierKey(w.vkey)])).toHaveLength(1);
  });

  it('a witness that has seen a newer checkpoint refuses (409) and the note gets no cosignature from it', async () => {
    const w = await witness();
    const tree = new MerkleTree();
    const note = grow(tree, 4);
    const bigger = new MerkleTree();
    for (let i = 0; i < 9; i++) bigger.append(leafHash(Buffer.from(`entry ${i}`)));
    w.hold(ORIGIN, 9, bigger.root());
    const said: string[] = [];
    const out = await collectCosignatures({ witnesses: [{ url: w.url, vkey: w.vkey }] }, note, 0, [], { proofFrom: (s) => tree.consistencyProof(s), log: (l) => said.push(l) });
    expect(out).toBe(note);
    expect(w.requests.map((r) => r.status)).toEqual([409]);
    expect(said.join('\n')).toMatch(/has seen a newer checkpoint \(size 9 > 4\)/);
    expect(w.held(ORIGIN)).toBe(9);
  });

  it('refusals (wrong log key 403, unknown origin 404, a bad proof 422) cost only that cosignature', async () => {
    const good = await witness('witness.test/good');
    const strangers = await startWitness({ name: 'witness.test/other', dir: tmp(), logs: { 'another/log': logKeys.verifierKey } });
    open.push(strangers);
    const wrongKey = await startWitness({ name: 'witness.test/wrongkey', dir: tmp(), logs: { [ORIGIN]: generateNoteKey('qbuild-logs/logs-test').verifierKey } });
    open.push(wrongKey);
    const tree = new MerkleTree();
    await collectCosignatures({ witnesses: [{ url: good.url, vkey: good.vkey }] }, grow(tree, 2), 0, []);
    const note = grow(tree, 2);
    const wrongProof = [Buffer.alloc(32, 7)];
    const ws = [good, strangers, wrongKey].map((w) => ({ url: w.url, vkey: w.vkey }));
    const out = await collectCosignatures({ witnesses: ws }, note, 2, wrongProof);
    expect(out).toBe(note);
    expect([good, strangers, wrongKey].map((w) => w.requests.at(-1)?.status)).toEqual([422, 404, 403]);
    const right = await collectCosignatures({ witnesses: ws }, note, 2, tree.consistencyProof(2));
    expect(openCosignatures(right, ws.map((w) => parseWitnessVerifierKey(w.vkey))).map((c) => c.name)).toEqual(['witness.test/good']);
  });

  it('a witness that is down or never answers, or answers with forged lines, does not hold up or fail the log', async () => {
    const tree = new MerkleTree();
    const note = grow(tree, 1);
    const forger = generateWitnessKey('witness.test/forger');
    const stuck = createServer(() => { /* never answers */ });
    const liar = createServer((_q, r) => { r.writeHead(200).end(`\u2014 witness.test/forger ${Buffer.alloc(76, 1).toString('base64')}\n`); });
    const drips: NodeJS.Timeout[] = [];
    // Headers at once, then a byte every 50 ms: never idle, never done.
    const trickle = createServer((_q, r) => { r.writeHead(200); drips.push(setInterval(() => r.write('\u2014'), 50)); });
    const tricklePort = await listenLoopback(trickle);
    const stuckPort = await listenLoopback(stuck);
    const liarPort = await listenLoopback(liar);
    try {
      const t0 = Date.now();
      const out = await collectCosignatures({
        witnessTimeoutMs: 300,
        witnesses: [
          { url: 'http://127.0.0.1:1', vkey: forger.verifierKey },
          { url: `http://127.0.0.1:${stuckPort}`, vkey: forger.verifierKey },
          { url: `http://127.0.0.1:${liarPort}/`, vkey: forger.verifierKey },
          { url: `http://127.0.0.1:${tricklePort}`, vkey: forger.verifierKey },
        ],
      }, note, 0, []);
      expect(out).toBe(note);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      for (const d of drips) clearInterval(d);
      for (const srv of [stuck, trickle]) { srv.closeAllConnections(); srv.close(); }
      liar.close();
    }
  });

  it('a witness answering many valid cosignatures (other timestamps) gets one line: it cannot crowd the others out of the note', async () => {
    const good = await witness('witness.test/good');
    const greedyKeys = generateWitnessKey('witness.test/greedy');
    const greedySigner = parseWitnessSignerKey(greedyKeys.signerKey);
    const tree = new MerkleTree();
    const note = grow(tree, 2);
    const body = note.slice(0, note.indexOf('\n\n') + 1);
    const greedy = createServer((_q, r) => {
      r.writeHead(200).end(Array.from({ length: 20 }, (_, i) => cosignCheckpoint(body, greedySigner, 1_700_000_000 + i)).join(''));
    });
    const port = await listenLoopback(greedy);
    try {
      const out = await collectCosignatures({
        witnesses: [{ url: `http://127.0.0.1:${port}`, vkey: greedyKeys.verifierKey }, { url: good.url, vkey: good.vkey }],
      }, note, 0, []);
      expect(openCosignatures(out, [parseWitnessVerifierKey(greedyKeys.verifierKey)]).map((c) => c.name)).toEqual(['witness.test/greedy']);
      expect(openCosignatures(out, [parseWitnessVerifierKey(good.vkey)]).map((c) => c.name)).toEqual(['witness.test/good']);
      expect(out.slice(note.length).split('\n').filter(Boolean)).toHaveLength(2);
    } finally {
      greedy.close();
    }
  });

  it('the request body is the spec example shape', () => {
    expect(addCheckpointBody(2, [Buffer.alloc(32, 0)], 'o\n3\nr\n\n\u2014 k s\n')).toBe(`old 2\n${Buffer.alloc(32).toString('base64')}\n\no\n3\nr\n\n\u2014 k s\n`);
  });
});

describe('logs settings: witnesses', () => {
  it('takes {url, vkey} entries and refuses a bad URL, a note key where a witness key belongs, unknown keys', () => {
    const w = generateWitnessKey('witness.test/w1');
    const s = parseLogsSettings('logs', '/var/q', { witnesses: [{ url: 'https://w.example/', vkey: w.verifierKey }], witnessTimeoutMs: 2000 });
    expect(s.witnesses).toEqual([{ url: 'https://w.example/', vkey: w.verifierKey }]);
    expect(s.witnessTimeoutMs).toBe(2000);
    expect(parseLogsSettings('logs', '/var/q', {}).witnesses).toEqual([]);
    expect(() => parseLogsSettings('logs', '/var/q', { witnesses: [{ url: 'ftp://x', vkey: w.verifierKey }] })).toThrow(/logs\.witnesses\[0\]\.url: must be an http\(s\) URL/);
    expect(() => parseLogsSettings('logs', '/var/q', { witnesses: [{ url: 'http://x', vkey: logKeys.verifierKey }] })).toThrow(/logs\.witnesses\[0\]\.vkey/);
    expect(() => parseLogsSettings('logs', '/var/q', { witnesses: [{ url: 'http://x', vkey: w.verifierKey, name: 'x' }] })).toThrow(/logs\.witnesses\[0\]\.name: unknown key/);
  });
});
