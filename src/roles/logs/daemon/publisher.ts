import { closeSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { parseNote, type NoteSigner } from '../../../protocol/note/note.js';
import { formatTicketTime, isTicketVm } from '../../../protocol/ticket/ticket.js';
import { formatLogTime } from '../../../protocol/ticket/ticket-v2.js';
import type { Ledger, SignedCheckpoint } from '../ledger/ledger.js';
import { CHECKPOINT_PATH, committedSize, ledgerFiles } from '../ledger/public-files.js';
import { provenanceFiles } from '../ledger/provenance.js';
import { collectCosignatures, type WitnessSetting } from '../ledger/witness-client.js';
import type { LogsSettings } from '../settings.js';
import { listSpool, readSpool, readStopReason, removeSpool, removeStopReason, writerAlive, type SpoolRecord } from '../spool.js';
import type { LogRepo } from './git-store.js';
import type { CommitSigner } from './pgp.js';
import { closeAbandoned } from './recover.js';
import { queueLedgerTicket } from './tickets.js';
import { writeAtomically } from '../../../util/durable-file.js';
import { crashPoint } from '../../../util/crash-point.js';

export interface PublishedRecord {
  path: string;
  vm: string;
  startMicros: number;
  endMicros: number;
  complete: boolean;
  /** The size cap was reached: input past it was counted, not stored. */
  capped: boolean;
  commit: string;
  sha256: string;
  size: number;
  digests: number;
  ticket: boolean;
}

export function publishedDir(state: string): string {
  return join(state, 'published');
}

export function readPublished(state: string, id: string): PublishedRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(publishedDir(state), `${id}.json`), 'utf8')) as PublishedRecord;
  } catch {
    return undefined;
  }
}

/**
 * Turns spool records into evidence, one at a time: a done log becomes a ledger entry, one
 * signed commit (log, checkpoint, tiles, provenance) and a queued ticket; an open log whose writer is gone is first closed as incomplete. Every step
 * is idempotent, so a crash anywhere is repaired by running again.
 */
export class Publisher {
  /** Logs being written right now (path → record), for the live view. */
  readonly running = new Map<string, SpoolRecord>();
  private chain: Promise<void> = Promise.resolve();
  /** Last error per spool id, so a stuck record is reported once, not every second. */
  private readonly failures = new Map<string, string>();
  /** Abandoned logs whose closing was announced and not finished yet. */
  private readonly closing = new Set<string>();
  /** The checkpoint size the witnesses were last asked to cosign in this run (signCheckpoint). */
  private witnessesAsked: number | undefined;

  constructor(
    private readonly s: LogsSettings,
    private readonly repo: LogRepo,
    private readonly commitSigner: CommitSigner,
    private readonly noteSigner: NoteSigner,
    private readonly ledger: Ledger,
    private readonly onCommitted: () => void,
    private readonly onTicket: () => void,
    private readonly log: (m: string) => void,
  ) {}

  /** Runs a pass over the spool after any pass already under way. */
  scan(): Promise<void> {
    this.chain = this.chain.then(() => this.pass()).catch((e) => this.log(`publish: ${(e as Error).message}`));
    return this.chain;
  }

  private async pass(): Promise<void> {
    const entries = listSpool(this.s.state);
    const done = new Set(entries.filter((e) => e.st === 'done').map((e) => e.id));
    const running = new Map<string, SpoolRecord>();
    const records = entries
      .map((e) => ({ e, rec: readSpool(e.file) }))
      .filter((x): x is { e: typeof x.e; rec: SpoolRecord } => x.rec !== undefined)
      .sort((a, b) => a.rec.startMicros - b.rec.startMicros || a.rec.path.localeCompare(b.rec.path));
    for (const { e, rec } of records) {
      if (e.st === 'open' && done.has(e.id)) continue;
      if (e.st === 'open' && writerAlive(rec)) {
        running.set(rec.path, rec);
        continue;
      }
      // One broken record must not hold back the others: report it and retry on the next pass.
      try {
        if (e.st === 'open') {
          // Said once per log, not on every retry while (say) the disk is still full.
          if (!this.closing.has(e.id)) this.log(`closing abandoned log ${rec.path} as incomplete`);
          this.closing.add(e.id);
          await this.publish(await closeAbandoned(this.s.state, this.s.store, rec, readStopReason(this.s.state, rec.path)));
          this.closing.delete(e.id);
        } else {
          await this.publish(rec);
        }
        this.failures.delete(e.id);
      } catch (err) {
        const msg = (err as Error).message;
        if (this.failures.get(e.id) !== msg) this.log(`cannot publish ${rec.path} yet: ${msg}`);
        this.failures.set(e.id, msg);
      }
    }
    this.running.clear();
    for (const [k, v] of running) this.running.set(k, v);
  }

  /**
   * Publishes one done log. Order (each step idempotent, so a crash anywhere is repaired by
   * running again): the log's blob; its ledger entry, appended durably (Ledger.append: once
   * per path); the signed checkpoint of the tree (Ledger.checkpoint: never one that does not
   * extend the last), cosigned by the witnesses; one signed commit `Add <path>` with the log,
   * `checkpoint`, the new tiles and the provenance; the queued v2 ticket; the published record.
   */
  private async publish(rec: SpoolRecord): Promise<void> {
    const id = rec.path.replace(/\//g, '+');
    const blob = await this.repo.writeLog(rec.path);
    const { index } = this.ledger.append({
      vm: rec.vm,
      path: rec.path,
      logSha256: blob.sha256,
      // A spool record from before sign forms holds only binary (`sha256:`) entries.
      digests: (rec.manifest ?? []).map((m) => ({ form: m.form ?? 'binary', sha256: m.sha256, label: m.label })),
      start: formatLogTime(rec.startMicros),
      end: formatLogTime(Math.max(rec.endMicros ?? rec.startMicros, rec.startMicros)),
    });
    crashPoint('ledger-appended');
    const c = await this.repo.commitLog(rec.path, blob, this.commitSigner, this.s.committer, async () => {
      const signed = await this.signCheckpoint();
      crashPoint('checkpoint-signed');
      const from = committedSize(this.ledger, await this.repo.readAtHead(CHECKPOINT_PATH));
      const files = ledgerFiles(this.ledger, this.s.store, from, signed.note);
      files.files.push(...this.provenance(index, signed.note, rec));
      return files;
    });
    if (c.created) this.log(`committed ${rec.path} as ${c.oid.slice(0, 12)} (ledger entry ${index}, checkpoint ${this.ledger.lastSigned()?.checkpoint.size ?? '?'})`);
    crashPoint('committed');
    this.onCommitted();
    const now = new Date();
    const wantTicket = isTicketVm(rec.vm) && (Object.keys(this.s.keysVmFor).length === 0 || rec.vm in this.s.keysVmFor);
    if (wantTicket && !readPublished(this.s.state, id)) {
      // Normally the checkpoint committed above; after a restart past the commit, the same one again.
      const signed = await this.signCheckpoint();
      queueLedgerTicket(this.s.state, id, c.oid, rec.vm, rec.path, {
        leafIndex: index,
        entry: this.ledger.entry(index),
        checkpoint: signed.note,
        inclusion: this.ledger.merkle.inclusionProof(index, signed.checkpoint.size).map((h) => h.toString('hex')),
        issued: formatTicketTime(now),
        expires: formatTicketTime(new Date(now.getTime() + this.s.ticketTtlSeconds * 1000)),
      });
      crashPoint('ticket-queued');
      this.onTicket();
    }
    const pub: PublishedRecord = {
      path: rec.path, vm: rec.vm, startMicros: rec.startMicros, endMicros: rec.endMicros ?? 0,
      complete: rec.complete === true, capped: rec.capped === true, commit: c.oid, sha256: c.sha256, size: c.size,
      digests: rec.manifest?.length ?? 0, ticket: wantTicket,
    };
    mkdirSync(publishedDir(this.s.state), { recursive: true });
    // Durable before the spool record goes: this record is what says the log was published.
    writeAtomically(join(publishedDir(this.s.state), `${id}.json`), JSON.stringify(pub), 0o644, join(publishedDir(this.s.state), `.${id}.tmp`));
    removeSpool(this.s.state, id, 'done');
    removeStopReason(this.s.state, rec.path);
  }

  /**
   * The checkpoint of the whole ledger, signed (Ledger.checkpoint refuses one that does not
   * extend the last signed) and, when it is new and witnesses are configured, cosigned: each
   * witness gets the old size and a consistency proof from it (witness-client.ts).
   */
  private async signCheckpoint(): Promise<SignedCheckpoint> {
    const before = this.ledger.lastSigned();
    const signed = this.ledger.checkpoint();
    if ((this.s.witnesses ?? []).length === 0) return signed;
    const fresh = signed !== before;
    // The stored checkpoint again: its witnesses were asked in this run already, or (after a
    // restart) a kill while they answered left it without some of their cosignatures: those
    // are asked once more, so the commit does not go out without them.
    if (!fresh && this.witnessesAsked === signed.checkpoint.size) return signed;
    this.witnessesAsked = signed.checkpoint.size;
    const missing = fresh ? this.s.witnesses! : uncosigned(signed.note, this.s.witnesses!);
    if (missing.length === 0) return signed;
    crashPoint('checkpoint-witnesses');
    const tree = this.ledger.merkle;
    const proofFrom = (size: number): Buffer[] => tree.consistencyProof(size, signed.checkpoint.size);
    // After a restart the witnesses' last size is not known here: a 409 names it, and the client retries from it.
    const oldSize = fresh ? before?.checkpoint.size ?? 0 : 0;
    const cosigned = await collectCosignatures({ ...this.s, witnesses: missing }, signed.note, oldSize, oldSize === 0 ? [] : proofFrom(oldSize), { proofFrom, log: this.log });
    return cosigned === signed.note ? signed : this.ledger.storeCosigned(cosigned);
  }

  /** The provenance envelope(s) for the log (provenance.ts); its build metadata is read from the log's first MiB. */
  private provenance(index: number, checkpoint: string, rec: SpoolRecord): { path: string; bytes: Buffer }[] {
    return provenanceFiles({
      entry: this.ledger.entry(index), leafIndex: index, checkpoint, buildVm: rec.vm, log: readHead(join(this.s.store, ...rec.path.split('/')), PROVENANCE_LOG_BYTES),
    }, this.noteSigner);
  }
}

/** Build metadata lines come first in a log; this much of it is read for provenance. */
const PROVENANCE_LOG_BYTES = 1 << 20;

function readHead(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(max);
    const n = readSync(fd, b, 0, max, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The witnesses whose name signs no line of `note` (a witness's name is its vkey's first field). */
function uncosigned(note: string, witnesses: readonly WitnessSetting[]): WitnessSetting[] {
  const names = new Set(parseNote(note).signatures.map((sig) => sig.name));
  return witnesses.filter((w) => !names.has(w.vkey.split('+')[0]!));
}
