import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { NoteSigner } from '../../../protocol/note/note.js';
import { openCheckpoint, signCheckpoint, type Checkpoint } from '../../../protocol/tlog/checkpoint.js';
import { encodeEntry, parseEntry, type LedgerEntry } from '../../../protocol/tlog/entry.js';
import { MerkleTree, verifyConsistency } from '../../../protocol/tlog/merkle.js';
import { writeAtomically } from '../../../util/durable-file.js';
import { appendEntry, readEntries } from './entries-file.js';

/** The last checkpoint this logs VM signed: the note as published (cosignatures included) and its parsed body. */
export interface SignedCheckpoint {
  note: string;
  checkpoint: Checkpoint;
}

/** The default checkpoint origin of a logs VM (docs/logs.md, Ledger). */
export function defaultOrigin(logsVm: string): string {
  return `qbuild.logs/${logsVm}`;
}

export function ledgerDir(state: string): string {
  return join(state, 'ledger');
}

/**
 * The logs VM's transparency log (docs/logs.md, Ledger): one entry per finished log, RFC 6962
 * hashing, state in `<state>/ledger/`:
 *   entries     every entry, appended and fsynced before anything refers to it (entries-file.ts)
 *   checkpoint  the last checkpoint note this VM signed (atomic replace), the one every new
 *               checkpoint must extend
 * A restart reads both back and continues the same tree. One Ledger per daemon; callers run
 * one publish at a time.
 */
export class Ledger {
  private readonly tree: MerkleTree;
  private readonly entries: Buffer[];
  private readonly byPath = new Map<string, number>();
  private last: SignedCheckpoint | undefined;

  private constructor(private readonly dir: string, readonly origin: string, private readonly signer: NoteSigner) {
    this.last = this.readLastSigned();
    const stored = readEntries(this.entriesFile, this.last?.checkpoint.size ?? 0);
    this.entries = stored.map((e) => e.bytes);
    this.tree = new MerkleTree(stored.map((e) => e.leafHash));
    this.entries.forEach((b, i) => this.byPath.set(parseEntry(b).path, i));
  }

  /** Opens (or starts) the ledger in `<state>/ledger`; a corrupt entries file or a checkpoint not signed by `signer` is refused. */
  static open(state: string, origin: string, signer: NoteSigner): Ledger {
    return new Ledger(ledgerDir(state), origin, signer);
  }

  private get entriesFile(): string { return join(this.dir, 'entries'); }
  private get checkpointFile(): string { return join(this.dir, 'checkpoint'); }

  get size(): number { return this.tree.size; }

  /** The tree (read-only use: proofs, tiles). */
  get merkle(): MerkleTree { return this.tree; }

  entryBytes(index: number): Buffer {
    const b = this.entries[index];
    if (!b) throw new QbuildError('internal', `ledger: no entry ${index}`);
    return b;
  }

  entry(index: number): LedgerEntry { return parseEntry(this.entryBytes(index)); }

  indexOf(path: string): number | undefined { return this.byPath.get(path); }

  lastSigned(): SignedCheckpoint | undefined { return this.last; }

  /**
   * Appends the entry of a finished log, durably, and returns its leaf index. Idempotent per
   * log path (a path names one log forever, store.ts): a second call, e.g. after a crash
   * between this append and the commit, returns the existing index and appends nothing.
   */
  append(e: LedgerEntry): { index: number; created: boolean } {
    const known = this.byPath.get(e.path);
    if (known !== undefined) return { index: known, created: false };
    const stored = appendEntry(this.entriesFile, encodeEntry(e));
    this.entries.push(stored.bytes);
    const index = this.tree.append(stored.leafHash);
    this.byPath.set(e.path, index);
    return { index, created: true };
  }

  /**
   * The signed checkpoint of the whole tree. Rule: a new checkpoint is signed only if the tree
   * extends the last signed one: its size is not smaller and a consistency proof from it
   * verifies (verifyConsistency). Otherwise nothing is signed and this throws, so no two
   * checkpoints this VM signs are inconsistent. The same tree again returns the stored note
   * (a restart re-signs nothing). The new note is stored durably before it is returned.
   */
  checkpoint(): SignedCheckpoint {
    const size = this.tree.size;
    const root = this.tree.root();
    const last = this.last;
    if (last) {
      const old = last.checkpoint;
      if (old.size === size && old.root.equals(root)) return last;
      const proof = old.size <= size ? this.tree.consistencyProof(old.size, size) : [];
      if (old.size > size || !verifyConsistency(old.size, size, old.root, root, proof)) {
        throw new QbuildError('internal', `ledger: REFUSING to sign a checkpoint of size ${size}: it does not extend the last signed checkpoint (size ${old.size}); ${this.checkpointFile} and ${this.entriesFile} disagree`);
      }
    }
    const c: Checkpoint = { origin: this.origin, size, root, extensions: [] };
    const signed = { note: signCheckpoint(c, this.signer), checkpoint: c };
    this.storeSigned(signed);
    return signed;
  }

  /** Replaces the stored note of the last signed checkpoint with one carrying cosignatures (same body). */
  storeCosigned(note: string): SignedCheckpoint {
    const c = openCheckpoint(note, [this.signer], this.origin);
    if (!this.last || c.size !== this.last.checkpoint.size || !c.root.equals(this.last.checkpoint.root)) {
      throw new QbuildError('internal', 'ledger: cosigned note is not the last signed checkpoint');
    }
    const signed = { note, checkpoint: c };
    this.storeSigned(signed);
    return signed;
  }

  private storeSigned(s: SignedCheckpoint): void {
    writeAtomically(this.checkpointFile, s.note, 0o600, join(this.dir, '.checkpoint.tmp'));
    this.last = s;
  }

  /** Rule: the stored last checkpoint must be signed by this VM's key and name this ledger's origin; anything else is refused at start. */
  private readLastSigned(): SignedCheckpoint | undefined {
    let note: string;
    try {
      note = readFileSync(this.checkpointFile, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return { note, checkpoint: openCheckpoint(note, [this.signer], this.origin) };
    } catch (e) {
      throw new QbuildError('io', `ledger: ${this.checkpointFile} is not a checkpoint of ${this.origin} signed by this logs VM: ${(e as Error).message}`);
    }
  }
}
