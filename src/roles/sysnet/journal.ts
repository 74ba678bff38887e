import { closeSync, constants, mkdirSync, openSync, readFileSync, write } from 'node:fs';
import { dirname } from 'node:path';
import { QbuildError } from '../../errors.js';
import { writeAtomically } from '../../util/durable-file.js';

/** Appends are synchronous to the disk (O_DSYNC): one write(2) per batch is the whole commit. */
const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

interface Pending { line: string; apply: (() => void) | undefined; done: (err?: Error) => void }

/**
 * An append-only file of JSON lines with group commit: one O_DSYNC write is in flight at a
 * time, and every record appended while it is (plus those of the current event-loop turn)
 * goes out together in the next one. Durability costs one disk sync per batch, not per
 * request, and the busier the listener, the bigger the batches. `append` resolves only once
 * its record is on disk. Records are whole lines written in order, so a crash can only leave
 * a torn last line, never acknowledged (see `open`). After a failed write the journal refuses
 * all further appends, so no acknowledged record ever follows a damaged one.
 */
export class Journal {
  private pending: Pending[] = [];
  private writing = false;
  private scheduled = false;
  private paused = false;
  private broken: Error | undefined;
  private idle: (() => void)[] = [];
  private bytes: number;

  private constructor(private readonly path: string, private fd: number, size: number) {
    this.bytes = size;
  }

  /**
   * Opens (creating) the journal and returns its records. A last line without its newline is
   * a write torn by a crash before it completed, so it was never acknowledged: dropped.
   * Any other unparsable line means the file is damaged: refuse to start rather than guess.
   */
  static async open(path: string): Promise<{ journal: Journal; records: unknown[] }> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try { text = readFileSync(path, 'utf8'); } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new QbuildError('io', `cannot read ${path}: ${(e as Error).message}`);
      writeAtomically(path, ''); // the new file's directory entry is durable before any append
    }
    const lines = text.split('\n');
    const torn = lines.pop() ?? '';
    const records = lines.map((line, i) => {
      try { return JSON.parse(line) as unknown; } catch {
        throw new QbuildError('io', `${path}: line ${i + 1} is damaged; move the file away to start with an empty queue`);
      }
    });
    if (torn) {
      // Rewrite without the torn tail so the next append starts on a clean line.
      writeAtomically(path, lines.map((l) => `${l}\n`).join(''));
    }
    const fd = openSync(path, APPEND_FLAGS, 0o600);
    return { journal: new Journal(path, fd, Buffer.byteLength(text) - Buffer.byteLength(torn)), records };
  }

  /** Size of the file, for deciding when to compact. */
  get size(): number { return this.bytes; }

  /** Disk writes (each one a sync) since open; records appended ÷ commits = batch size. */
  commits = 0;

  /**
   * Appends `record`; resolves once it is on disk. `apply` (the in-memory effect of the record)
   * runs synchronously at that moment, so a compaction can never see the file and the memory
   * disagree about it.
   */
  append(record: unknown, apply?: () => void): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(record)}\n`, apply, done: (err) => (err ? reject(err) : resolve()) });
      this.schedule();
    });
  }

  /**
   * Starts the next batch at the end of this event-loop turn (so the turn's appends share it),
   * unless a write is in flight: then its completion starts the next batch.
   */
  private schedule(): void {
    if (this.scheduled || this.paused || this.writing || !this.pending.length) return;
    this.scheduled = true;
    setImmediate(() => { this.scheduled = false; this.writeBatch(); this.notify(); });
  }

  /** Wakes drain/rewrite waiters; each re-checks its own condition. */
  private notify(): void {
    for (const r of this.idle.splice(0)) r();
  }

  private writeBatch(): void {
    if (this.paused || this.writing || !this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    let text = '';
    for (const p of batch) text += p.line;
    const buf = Buffer.from(text);
    this.writing = true;
    this.commits++;
    // Callback fs.write: the promise API costs noticeably more per call on this hot path.
    write(this.fd, buf, 0, buf.length, null, (err, written) => {
      if (!err && written !== buf.length) err = new Error(`short write (${written} of ${buf.length} bytes)`) as NodeJS.ErrnoException;
      if (!err && !this.broken) {
        this.bytes += buf.length;
        for (const p of batch) { p.apply?.(); p.done(); }
      } else {
        this.broken ??= new QbuildError('io', `cannot write ${this.path}: ${err?.message ?? 'earlier write failed'}; restart to recover`);
        for (const p of [...batch, ...this.pending]) p.done(this.broken);
        this.pending = [];
      }
      this.writing = false;
      this.schedule();
      this.notify();
    });
  }

  /** Waits until every record appended so far is on disk (or failed). */
  async drain(): Promise<void> {
    while (this.writing || this.pending.length || this.scheduled) await new Promise<void>((r) => this.idle.push(r));
  }

  /**
   * Replaces the whole journal with `snapshot()` (compaction): written to a temporary file,
   * fsynced, renamed over the journal, directory fsynced. Safe against a crash at any point.
   * The snapshot is taken once no write is in flight; appends made meanwhile wait and go to
   * the new file.
   */
  async rewrite(snapshot: () => unknown[]): Promise<void> {
    this.paused = true;
    try {
      while (this.writing || this.scheduled) await new Promise<void>((r) => this.idle.push(r));
      const text = snapshot().map((r) => `${JSON.stringify(r)}\n`).join('');
      closeSync(this.fd);
      writeAtomically(this.path, text);
      this.fd = openSync(this.path, APPEND_FLAGS, 0o600);
      this.bytes = Buffer.byteLength(text);
    } finally {
      this.paused = false;
    }
    this.schedule();
  }

  async close(): Promise<void> {
    await this.drain();
    closeSync(this.fd);
  }
}
