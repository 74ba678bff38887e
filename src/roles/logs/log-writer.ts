import { fdatasync, fdatasyncSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineEncoder } from '../../protocol/buildlog/encoder.js';
import { QbuildError, oneLine } from '../../errors.js';
import { CLOSE_MESSAGE, END_MARKER, INCOMPLETE_PREFIX, START_MESSAGE, nowMicros } from '../../protocol/buildlog/format.js';
import type { ManifestEntry } from '../../protocol/buildlog/manifest.js';
import type { LogsSettings } from './settings.js';
import { closeQuietly, createLogFile } from './store.js';
import { syncDir } from '../../util/durable-file.js';
import { processStart, recordStopReason, removeStopReason, reserveStopReason, writeSpool, type SpoolRecord } from './spool.js';

/** Received lines reach the disk (fdatasync) at most this long after they were written. */
export const SYNC_DELAY_MS = 50;

export interface ClosedLog {
  path: string;
  complete: boolean;
  manifest: ManifestEntry[];
  storedBytes: number;
  receivedBytes: number;
  lines: number;
  capped: boolean;
}

/** A file system error as one line: ENOSPC says "disk full", others their code and message. */
export function diskReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOSPC') return 'disk full (ENOSPC) while storing the log';
  if (err?.code === 'EDQUOT') return 'disk quota exceeded (EDQUOT) while storing the log';
  return `cannot write the log: ${oneLine(e)}`;
}

/**
 * One build log being written straight into the store: every chunk is written as it arrives
 * and fdatasync'ed within SYNC_DELAY_MS (batched), so a crash of any party loses nothing
 * already received. Open/close are recorded in the spool for the daemon.
 */
export class LogWriter {
  readonly path: string;
  readonly abs: string;
  private readonly fd: number;
  private readonly enc: LineEncoder;
  private readonly rec: SpoolRecord;
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private dirty = false;
  private closed = false;
  private failure: QbuildError | undefined;
  /** A batched fdatasync failed: the next push or close stops the writer. */
  private syncError: Error | undefined;

  private constructor(private readonly settings: LogsSettings, vm: string, subdir: string) {
    const start = nowMicros();
    const { path, fd } = createLogFile(settings.store, vm, subdir, start);
    this.path = path;
    this.abs = join(settings.store, ...path.split('/'));
    this.fd = fd;
    this.enc = new LineEncoder({ vm, maxLineBytes: settings.maxLineBytes, maxLogBytes: settings.maxLogBytes });
    this.rec = { path, vm, startMicros: start, pid: process.pid, pidStart: processStart(process.pid) };
    try {
      this.enc.marker(start, START_MESSAGE);
      this.flush();
      fdatasyncSync(fd);
      syncDir(dirname(this.abs));
      reserveStopReason(settings.state, path);
      writeSpool(settings.state, this.rec, 'open');
    } catch (e) {
      // Not handed to the daemon yet: leave no log behind that nothing would ever publish.
      closeQuietly(fd);
      try { unlinkSync(this.abs); } catch { /* gone */ }
      removeStopReason(settings.state, path);
      throw new QbuildError('io', `cannot store a log for ${vm}: ${diskReason(e)}`);
    }
  }

  static open(settings: LogsSettings, vm: string, subdir: string): LogWriter {
    return new LogWriter(settings, vm, subdir);
  }

  /** Stores a received chunk now; schedules the batched fdatasync. Throws (QbuildError io) once the disk failed. */
  push(chunk: Buffer): void {
    this.check();
    this.enc.push(chunk, nowMicros());
    this.guard(() => this.flush());
  }

  /**
   * Ends the log: the last unterminated line, the size-cap note, `> incomplete: ...` when the
   * build VM did not send the end marker (or sent it past the size cap), then `> closing log`;
   * synced; spool record done.
   */
  close(): ClosedLog {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.check();
    const t = nowMicros();
    this.enc.finish(t);
    const complete = this.enc.endMarkerSeen;
    if (!complete) {
      this.enc.marker(t, `${INCOMPLETE_PREFIX}${this.enc.capped
        ? `the size cap was reached before "${END_MARKER}"`
        : `the stream ended without "${END_MARKER}"`}`);
    }
    this.enc.marker(t, CLOSE_MESSAGE);
    this.guard(() => {
      this.flush();
      fdatasyncSync(this.fd);
    });
    this.closed = true;
    closeQuietly(this.fd);
    const result: ClosedLog = {
      path: this.path,
      complete,
      manifest: this.enc.manifest.entries,
      storedBytes: this.enc.storedBytes,
      receivedBytes: this.enc.receivedBytes,
      lines: this.enc.lines,
      capped: this.enc.capped,
    };
    this.guard(() => writeSpool(this.settings.state, {
      ...this.rec, complete, endMicros: t, manifest: result.manifest, storedBytes: result.storedBytes,
      receivedBytes: result.receivedBytes, lines: result.lines, capped: result.capped,
    }, 'done'));
    removeStopReason(this.settings.state, this.path);
    return result;
  }

  /**
   * Rule: a failed write or sync stops this writer for good. The reason goes into the reserved
   * stop record (the daemon closes the log with it once it can write again), the caller gets
   * one line, and the spool record stays open so the daemon, not this process, closes the log.
   */
  private guard(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): never {
    if (!this.failure) {
      const reason = diskReason(e);
      this.failure = new QbuildError('io', `${this.path}: ${reason}; the logs VM closes it once it can write again`);
      this.closed = true;
      if (this.syncTimer) clearTimeout(this.syncTimer);
      recordStopReason(this.settings.state, this.path, reason);
      closeQuietly(this.fd);
    }
    throw this.failure;
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.syncError) this.fail(this.syncError);
  }

  private flush(): void {
    const out = this.enc.take();
    let off = 0;
    while (off < out.length) off += writeSync(this.fd, out, off, out.length - off);
    if (out.length > 0) this.scheduleSync();
  }

  private scheduleSync(): void {
    this.dirty = true;
    if (this.syncTimer || this.syncing || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      if (this.closed) return;
      this.syncing = true;
      this.dirty = false;
      fdatasync(this.fd, (err) => {
        this.syncing = false;
        if (err && !this.closed) this.syncError = err;
        if (this.dirty) this.scheduleSync();
      });
    }, SYNC_DELAY_MS);
  }
}
