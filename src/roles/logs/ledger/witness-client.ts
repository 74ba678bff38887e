import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { oneLine } from '../../../errors.js';
import { parseNote } from '../../../protocol/note/note.js';
import { parseCheckpoint } from '../../../protocol/tlog/checkpoint.js';
import { parseWitnessVerifierKey, verifyCosignature, type CosignatureVerifier } from '../../../protocol/tlog/cosignature.js';

/**
 * The logs VM's side of C2SP tlog-witness (https://c2sp.org/tlog-witness): each new signed
 * checkpoint goes to every configured witness as `POST <url>/add-checkpoint`
 *
 *   old <size>\n  <consistency proof hash, base64>\n ...  \n  <signed checkpoint note>
 *
 * and the cosignature lines of a 200 reply are added to the note. A witness is advisory for
 * the logs VM: one that is down, slow, refuses or answers nonsense costs its cosignature,
 * never the log's publication (the keys VM decides whether enough witnesses signed).
 */

export interface WitnessSetting {
  /** The witness's submission prefix, e.g. `https://witness.example/` (add-checkpoint is appended). */
  url: string;
  /** The witness's public key, C2SP vkey encoding with signature type 0x04 (tlog-cosignature). */
  vkey: string;
}

/** The part of the logs settings this needs (LogsSettings has these keys). */
export interface WitnessClientSettings {
  witnesses?: readonly WitnessSetting[];
  /** Per request; default 5000 ms. */
  witnessTimeoutMs?: number;
}

export interface CollectOptions {
  /**
   * A consistency proof from `size` to the checkpoint's size: lets the client answer a 409
   * (the witness last cosigned another size) by retrying once from the witness's size.
   */
  proofFrom?: (size: number) => Buffer[];
  /** Where to say what each witness did (the daemon's log). */
  log?: (line: string) => void;
}

/** The spec's limit on proof lines in one request. */
const MAX_PROOF_LINES = 63;
const MAX_REPLY_BYTES = 64 * 1024;
/** A signed note carries at most this many signatures (src/protocol/note/note.ts). */
const MAX_NOTE_SIGNATURES = 16;
const DEFAULT_TIMEOUT_MS = 5000;

/** Checks a witness vkey setting (C2SP vkey, type 0x04); returns it trimmed. */
export function checkWitnessVkey(vkey: string): string {
  parseWitnessVerifierKey(vkey);
  return vkey.trim();
}

/**
 * A reply line counts when it is one signed-note signature line that verifies as this
 * witness's cosignature of the checkpoint body (tlog-cosignature; other lines are ignored, as
 * the spec says a client must).
 */
function isCosignatureBy(key: CosignatureVerifier, checkpointBody: string, line: string): boolean {
  try {
    const [sig] = parseNote(`${checkpointBody}\n${line}\n`).signatures;
    return sig !== undefined && verifyCosignature(checkpointBody, sig, key) !== undefined;
  } catch {
    return false;
  }
}

type Reply =
  | { kind: 'cosigned'; lines: string[] }
  | { kind: 'conflict'; size: number | undefined }
  | { kind: 'refused'; why: string };

/** The request body add-checkpoint takes. */
export function addCheckpointBody(oldSize: number, proof: readonly Buffer[], signedNote: string): string {
  return `old ${oldSize}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${signedNote}`;
}

/**
 * Sends one add-checkpoint request. Rules on the reply: 200 with a text body of note
 * signature lines (`— ` …, each ending in a newline) is a cosignature; 409 whose body is one
 * decimal size and newline is a conflict with the witness's latest size (Content-Type
 * text/x.tlog.size); anything else, a body over 64 KiB, a timeout or a network error is a
 * refusal with a one-line reason.
 */
export function submitCheckpoint(url: string, body: string, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(`${url.replace(/\/+$/, '')}/add-checkpoint`);
    } catch {
      resolve({ kind: 'refused', why: 'not a URL' });
      return;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      resolve({ kind: 'refused', why: 'not an http(s) URL' });
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    // The whole exchange, not just each idle gap, is bounded: a witness trickling bytes is as late as a silent one.
    const timer = setTimeout(() => { done({ kind: 'refused', why: `no reply within ${timeoutMs} ms` }); req.destroy(); }, timeoutMs);
    const done = (r: Reply) => { if (!settled) { settled = true; clearTimeout(timer); resolve(r); } };
    const req = send(target, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) },
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_REPLY_BYTES) {
          done({ kind: 'refused', why: `reply larger than ${MAX_REPLY_BYTES} bytes` });
          res.destroy();
          return;
        }
        chunks.push(c);
      });
      res.on('error', (e) => done({ kind: 'refused', why: oneLine(e) }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status === 200) {
          const lines = text.split('\n');
          if (lines.pop() !== '' || lines.length === 0) return done({ kind: 'refused', why: 'reply 200 is not signature lines ending in a newline' });
          return done({ kind: 'cosigned', lines });
        }
        if (status === 409) {
          const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(text);
          return done({ kind: 'conflict', size: m ? Number(m[1]) : undefined });
        }
        done({ kind: 'refused', why: `HTTP ${status}${text.trim() ? `: ${oneLine(text).slice(0, 120)}` : ''}` });
      });
    });
    req.on('error', (e) => done({ kind: 'refused', why: oneLine(e) }));
    req.end(body);
  });
}

/**
 * Asks one witness; returns its verified cosignature line (none when it did not cosign). Rule:
 * one line per witness, the first that verifies: a witness can make any number of valid
 * cosignatures (one per timestamp), and more would crowd the other witnesses out of the note's
 * 16 signatures.
 */
async function askWitness(
  w: WitnessSetting, key: CosignatureVerifier, note: string, checkpointBody: string, size: number,
  oldSize: number, proof: Buffer[], timeoutMs: number, o: CollectOptions,
): Promise<string[]> {
  const say = (m: string) => o.log?.(`witness ${key.name}: ${m}`);
  let from = oldSize;
  let lines: string[] | undefined;
  for (let attempt = 0; attempt < 2 && lines === undefined; attempt++) {
    if (proof.length > MAX_PROOF_LINES) { say(`consistency proof has ${proof.length} hashes, more than ${MAX_PROOF_LINES}`); return []; }
    const r = await submitCheckpoint(w.url, addCheckpointBody(from, proof, note), timeoutMs);
    if (r.kind === 'cosigned') { lines = r.lines; break; }
    if (r.kind === 'refused') { say(`not cosigned: ${r.why}`); return []; }
    // 409: the witness last cosigned another size. Retry once from it, when that can be proved.
    if (r.size === undefined) { say('not cosigned: 409 without a size'); return []; }
    if (r.size > size) { say(`not cosigned: it has seen a newer checkpoint (size ${r.size} > ${size})`); return []; }
    if (attempt > 0 || !o.proofFrom || r.size === from) { say(`not cosigned: it holds size ${r.size}, we sent old ${from}`); return []; }
    from = r.size;
    try {
      proof = r.size === 0 ? [] : o.proofFrom(r.size);
    } catch (e) {
      say(`not cosigned: no consistency proof from ${r.size}: ${oneLine(e)}`);
      return [];
    }
  }
  const good = (lines ?? []).filter((l) => isCosignatureBy(key, checkpointBody, l));
  if (good.length === 0) say('reply had no valid cosignature by its key');
  return good.slice(0, 1);
}

/**
 * Collects cosignatures on a signed checkpoint note from the configured witnesses, in
 * parallel, each bounded by the timeout. Returns the note with each verified cosignature
 * line added once (at most 16 signatures in all); the note unchanged when there are no
 * witnesses or none cosigned. Never throws: a bad witness setting or reply is logged.
 */
export async function collectCosignatures(
  settings: WitnessClientSettings, signedCheckpointNote: string, oldSize: number, consistency: Buffer[],
  o: CollectOptions = {},
): Promise<string> {
  const witnesses = settings.witnesses ?? [];
  if (witnesses.length === 0) return signedCheckpointNote;
  let body: string;
  let size: number;
  try {
    body = parseNote(signedCheckpointNote).text;
    size = parseCheckpoint(body).size;
  } catch (e) {
    o.log?.(`witnesses: not a signed checkpoint: ${oneLine(e)}`);
    return signedCheckpointNote;
  }
  const timeoutMs = settings.witnessTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const results = await Promise.all(witnesses.map(async (w) => {
    let key: CosignatureVerifier;
    try {
      key = parseWitnessVerifierKey(w.vkey);
    } catch (e) {
      o.log?.(`witness ${w.url}: bad vkey: ${oneLine(e)}`);
      return [];
    }
    try {
      return await askWitness(w, key, signedCheckpointNote, body, size, oldSize, consistency, timeoutMs, o);
    } catch (e) {
      o.log?.(`witness ${key.name}: ${oneLine(e)}`);
      return [];
    }
  }));
  const existing = signedCheckpointNote.endsWith('\n') ? signedCheckpointNote : `${signedCheckpointNote}\n`;
  const have = new Set(existing.slice(body.length + 1).split('\n').filter(Boolean));
  let out = existing;
  for (const line of results.flat()) {
    if (have.has(line) || have.size >= MAX_NOTE_SIGNATURES) continue;
    have.add(line);
    out += `${line}\n`;
  }
  return out;
}
