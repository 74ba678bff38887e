import { EventEmitter } from 'node:events';
import { read, writeSync } from 'node:fs';

/**
 * The part of a Readable that the per-call services use: a net.Socket, a PassThrough or an
 * FdReader all fit.
 */
export interface ChunkSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(): unknown;
}

/** The part of a Writable that the per-call services use. */
export interface ChunkSink {
  write(chunk: Buffer, callback?: (err?: Error | null) => void): unknown;
}

/** How long to wait before reading a non-blocking descriptor again after EAGAIN. */
const RETRY_MS = 1;

/**
 * Reads a descriptor (a service's stdin from qrexec) with fs.read and emits 'data' / 'end' /
 * 'error' like a paused-aware Readable, without building a net.Socket: process.stdin on a
 * socket costs a per-call process several milliseconds of module loading.
 * Rules: at most one read is in flight; none is started while paused, so a caller that has
 * all it needs pauses and leaves no read pending (the process can then exit).
 */
export class FdReader extends EventEmitter implements ChunkSource {
  private paused = false;
  private reading = false;
  private finished = false;

  constructor(private readonly fd: number, private readonly chunkSize = 64 * 1024) {
    super();
    process.nextTick(() => this.pump());
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    this.pump();
    return this;
  }

  /** Stops emitting; a read already in flight is dropped when it returns. */
  destroy(): this {
    this.finished = true;
    return this;
  }

  private pump(): void {
    if (this.paused || this.reading || this.finished) return;
    this.reading = true;
    read(this.fd, Buffer.allocUnsafe(this.chunkSize), 0, this.chunkSize, null, (err, n, buf) => {
      this.reading = false;
      if (this.finished) return;
      if (err) {
        // Qubes and the simulator hand services blocking descriptors; a non-blocking one
        // (another launcher) is polled instead of failing.
        if (err.code === 'EAGAIN') { setTimeout(() => this.pump(), RETRY_MS); return; }
        this.finished = true;
        this.emit('error', err);
        return;
      }
      if (n === 0) {
        this.finished = true;
        this.emit('end');
        return;
      }
      this.emit('data', buf.subarray(0, n));
      this.pump();
    });
  }
}

/**
 * Writes to a descriptor synchronously (a service's stdout from qrexec). Rule: a reader that
 * went away (EPIPE, ECONNRESET) ends the writing quietly, as a Socket's error would; a
 * non-blocking descriptor that is full is retried until it takes the bytes.
 */
export class FdWriter implements ChunkSink {
  private gone = false;

  constructor(private readonly fd: number) {}

  write(chunk: Buffer, callback?: (err?: Error | null) => void): boolean {
    let off = 0;
    while (!this.gone && off < chunk.length) {
      try {
        off += writeSync(this.fd, chunk, off, chunk.length - off);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue;
        if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'EBADF') { this.gone = true; break; }
        throw e;
      }
    }
    if (callback) process.nextTick(callback);
    return true;
  }
}
