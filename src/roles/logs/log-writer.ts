import { fdatasync, fdatasyncSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LineEncoder } from '../../protocol/buildlog/encoder.js';
import { CLOSE_MESSAGE, END_MARKER, INCOMPLETE_PREFIX, START_MESSAGE, nowMicros } from '../../protocol/buildlog/format.js';
import type { ManifestEntry } from '../../protocol/buildlog/manifest.js';
import type { LogsSettings } from './settings.js';
import { closeQuietly, createLogFile } from './store.js';
import { syncDir } from '../../util/durable-file.js';
import { processStart, writeSpool, type SpoolRecord } from './spool.js';

/** Received lines reach the disk (fdatasync) at most this long after they were written. */
export const SYNC_DELAY_MS = 50;

export interface ClosedLog {
  path: string;
  complete: boolean;
  manifest: ManifestEntry[];
  storedBytes: number;
  receivedBytes: number;
  lines: number;
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

  private constructor(private readonly settings: LogsSettings, vm: string, subdir: string) {
    const start = nowMicros();
    const { path, fd } = createLogFile(settings.store, vm, subdir, start);
    this.path = path;
    this.abs = join(settings.store, ...path.split('/'));
    this.fd = fd;
    this.enc = new LineEncoder({ vm, maxLineBytes: settings.maxLineBytes, maxLogBytes: settings.maxLogBytes });
    this.rec = { path, vm, startMicros: start, pid: process.pid, pidStart: processStart(process.pid) };
    this.enc.marker(start, START_MESSAGE);
    this.flush();
    fdatasyncSync(fd);
    syncDir(dirname(this.abs));
    writeSpool(settings.state, this.rec, 'open');
  }

  static open(settings: LogsSettings, vm: string, subdir: string): LogWriter {
    return new LogWriter(settings, vm, subdir);
  }

  /** Stores a received chunk now; schedules the batched fdatasync. */
  push(chunk: Buffer): void {
    this.enc.push(chunk, nowMicros());
    this.flush();
  }

  /**
   * Ends the log: the last unterminated line, the size-cap note, `> incomplete: ...` when the
   * build VM did not send the end marker, then `> closing log`; synced; spool record done.
   */
  close(): ClosedLog {
    if (this.syncTimer) clearTimeout(this.syncTimer);
    const t = nowMicros();
    this.enc.finish(t);
    const complete = this.enc.endMarkerSeen;
    if (!complete) this.enc.marker(t, `${INCOMPLETE_PREFIX}the stream ended without "${END_MARKER}"`);
    this.enc.marker(t, CLOSE_MESSAGE);
    this.flush();
    fdatasyncSync(this.fd);
    this.closed = true;
    closeQuietly(this.fd);
    const result: ClosedLog = {
      path: this.path,
      complete,
      manifest: this.enc.manifest.entries,
      storedBytes: this.enc.storedBytes,
      receivedBytes: this.enc.receivedBytes,
      lines: this.enc.lines,
    };
    writeSpool(this.settings.state, {
      ...this.rec, complete, endMicros: t, manifest: result.manifest,
      storedBytes: result.storedBytes, receivedBytes: result.receivedBytes, lines: result.lines,
    }, 'done');
    return result;
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
      fdatasync(this.fd, () => {
        this.syncing = false;
        if (this.dirty) this.scheduleSync();
      });
    }, SYNC_DELAY_MS);
  }
}
