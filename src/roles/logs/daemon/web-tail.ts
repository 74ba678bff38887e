import { fstatSync, readSync } from 'node:fs';
import type { WebSocket } from 'ws';
import { oneLine } from '../../../errors.js';
import { closeQuietly, openLogForReading } from '../store.js';

/**
 * Bounds of the live tail (docs/logs.md): the daemon that shows logs is also the one that
 * publishes them and sends tickets, so no viewer may take its memory, descriptors or time.
 */
export const TAIL_LIMITS = {
  /** WebSocket viewers at once; more are answered 503 before the handshake. */
  maxClients: 64,
  /** Bytes queued for one viewer (ws.bufferedAmount) past which nothing more is read for it. */
  maxBuffered: 256 * 1024,
  /** Bytes of log per message. */
  chunk: 64 * 1024,
  /** Bytes sent to one viewer per poll: a fast viewer of a 2 GiB log never holds up the daemon. */
  perPoll: 1024 * 1024,
  /** A viewer whose queue stays full this long is dropped with CLOSE_TOO_SLOW. */
  stallMs: 10_000,
  /** After the close frame, the connection is cut this long later if the viewer never answers. */
  graceMs: 2_000,
};

/** WebSocket close codes (RFC 6455 §7.4.1). */
export const CLOSE_TOO_SLOW = 1008;
export const CLOSE_TOO_MANY = 1013;
export const CLOSE_SERVER_ERROR = 1011;

const INITIAL_TAIL = 256 * 1024;
const POLL_MS = 100;
/** One read buffer for every viewer: reads are synchronous, so they never overlap. */
const READ_BUF = Buffer.allocUnsafe(TAIL_LIMITS.chunk);

/**
 * The viewers of the live view: each tails one log file, polled every POLL_MS. Rules: at most
 * maxClients at once; at most maxBuffered bytes queued per viewer (the file is the buffer:
 * nothing more is read until the viewer drains); a viewer that drains nothing for stallMs is
 * dropped with close code 1008; any error while serving one viewer (EMFILE included) drops
 * that viewer with 1011 and is logged, never thrown.
 */
export class TailHub {
  private readonly tails = new Set<WebSocket>();

  constructor(
    private readonly store: string,
    private readonly isRunning: (path: string) => boolean,
    private readonly log: (m: string) => void,
    private readonly limits = TAIL_LIMITS,
  ) {}

  get size(): number {
    return this.tails.size;
  }

  full(): boolean {
    return this.tails.size >= this.limits.maxClients;
  }

  /** Serves `path` to a WebSocket that just completed its handshake. */
  start(ws: WebSocket, path: string): void {
    ws.on('error', () => ws.terminate());
    ws.on('message', () => { /* read-only: ignore */ });
    if (this.full()) return drop(ws, CLOSE_TOO_MANY, 'too many viewers', this.limits.graceMs);
    let fd: number;
    try {
      fd = openLogForReading(this.store, path);
    } catch (e) {
      this.log(`live view: ${oneLine(e)}`);
      return drop(ws, CLOSE_SERVER_ERROR, 'cannot open the log', this.limits.graceMs);
    }
    this.tails.add(ws);
    let pos = -1;
    let lastState = '';
    let stalledSince = 0;
    const pump = (): void => {
      if (ws.readyState !== ws.OPEN) return;
      try {
        const size = fstatSync(fd).size;
        if (pos < 0) pos = Math.max(0, size - INITIAL_TAIL);
        let sent = 0;
        while (pos < size && sent < this.limits.perPoll && ws.readyState === ws.OPEN && ws.bufferedAmount < this.limits.maxBuffered) {
          const n = readSync(fd, READ_BUF, 0, Math.min(this.limits.chunk, READ_BUF.length, size - pos), pos);
          if (n <= 0) break;
          pos += n;
          sent += n;
          ws.send(JSON.stringify({ text: READ_BUF.toString('latin1', 0, n) }));
        }
        if (ws.bufferedAmount < this.limits.maxBuffered) {
          stalledSince = 0;
        } else if (!stalledSince) {
          stalledSince = Date.now();
        } else if (Date.now() - stalledSince > this.limits.stallMs) {
          this.log(`live view: dropped a viewer of ${path}: too slow (${ws.bufferedAmount} bytes unread for ${this.limits.stallMs} ms)`);
          return drop(ws, CLOSE_TOO_SLOW, 'too slow: the viewer read nothing', this.limits.graceMs);
        }
        const state = this.isRunning(path) ? 'running' : 'finished';
        if (state !== lastState && ws.readyState === ws.OPEN) {
          lastState = state;
          ws.send(JSON.stringify({ state }));
        }
      } catch (e) {
        this.log(`live view: ${oneLine(e)}`);
        drop(ws, CLOSE_SERVER_ERROR, 'cannot read the log', this.limits.graceMs);
      }
    };
    const timer = setInterval(pump, POLL_MS);
    ws.on('close', () => {
      clearInterval(timer);
      this.tails.delete(ws);
      closeQuietly(fd);
    });
    pump();
  }

  closeAll(): void {
    for (const ws of this.tails) ws.terminate();
  }
}

/** Sends a close frame (best effort: it queues behind unread data) and cuts the connection after graceMs. */
function drop(ws: WebSocket, code: number, reason: string, graceMs: number): void {
  if (ws.readyState === ws.CLOSED) return;
  try {
    ws.close(code, reason);
  } catch {
    /* the socket is already gone */
  }
  setTimeout(() => ws.terminate(), graceMs).unref();
}
