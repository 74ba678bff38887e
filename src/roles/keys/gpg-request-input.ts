import { QbuildError } from '../../errors.js';
import { FrameDecoder, HeaderReader } from '../../protocol/splitgpg/wire.js';
import type { ChunkSource } from '../../util/fd-io.js';

/** Largest input the keys VM accepts to sign (held in memory; repo metadata and RPM headers are small). */
export const MAX_SIGN_INPUT = 256 * 1024 * 1024;

/**
 * Reads the caller's side of qubes.Gpg: the 1028-byte header, then frames. Rules: stream
 * indices beyond what the command line declared are a protocol error; each input stream is
 * bounded by MAX_SIGN_INPUT; EOF of the qrexec stream before the request is complete means
 * the client gave up (as the stock server, we then stop without output). Idle rule: the
 * whole header must arrive within `idleMs` of the start, and each frame within `idleMs` of
 * the previous one (or of the header being read); otherwise the request fails as timed out.
 */
export class RequestInput {
  private idleTimer: NodeJS.Timeout | undefined;
  timedOut = false;
  private header = new HeaderReader();
  private decoder: FrameDecoder | undefined;
  private rest: Buffer | undefined;
  private streams: Buffer[][] = [];
  private sizes: number[] = [];
  private closed: boolean[] = [];
  private waiters: (() => void)[] = [];
  failure: Error | undefined;
  eof = false;
  headerBytes: Buffer | undefined;
  private headerWaiter: (() => void) | undefined;

  constructor(private readonly stdin: ChunkSource, readonly idleMs: number) {
    stdin.on('data', (c: Buffer) => this.onData(c));
    stdin.on('end', () => { this.eof = true; this.disarm(); this.wake(); });
    stdin.on('error', (e) => { this.failure = e; this.disarm(); this.wake(); });
    this.arm('the request header');
  }

  /** (Re)starts the idle clock for the next piece of input. */
  private arm(what: string): void {
    this.disarm();
    this.idleTimer = setTimeout(() => {
      this.timedOut = true;
      this.failure = new QbuildError('protocol', `timed out: ${what} did not arrive in full within ${this.idleMs / 1000} s`);
      this.stdin.pause();
      this.wake();
    }, this.idleMs);
  }

  disarm(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private wake(): void {
    this.headerWaiter?.();
    for (const w of this.waiters.splice(0)) w();
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    try {
      if (!this.headerBytes) {
        const done = this.header.push(chunk);
        if (!done) return;
        // Between header and frames the server is working, not waiting: no idle clock.
        this.disarm();
        this.headerBytes = done[0];
        this.rest = done[1];
        this.stdin.pause();
        this.headerWaiter?.();
        return;
      }
      const frames = this.decoder!.push(chunk);
      if (frames.length) this.arm('the next frame');
      for (const f of frames) {
        if (f.kind === 'exit') throw new QbuildError('protocol', 'client sent an exit frame');
        if (f.kind === 'close') { this.closed[f.stream] = true; continue; }
        if (this.closed[f.stream]) throw new QbuildError('protocol', `data on closed stream ${f.stream}`);
        this.sizes[f.stream]! += f.data.length;
        if (this.sizes[f.stream]! > MAX_SIGN_INPUT) throw new QbuildError('bad-input', `input larger than ${MAX_SIGN_INPUT} bytes`);
        this.streams[f.stream]!.push(f.data);
      }
      // Everything the request needs is here: read no further, so no read stays pending.
      if (this.closed.every(Boolean)) { this.disarm(); this.stdin.pause(); }
    } catch (e) {
      this.failure = e as Error;
      this.disarm();
      this.stdin.pause();
    }
    this.wake();
  }

  async readHeader(): Promise<Buffer | undefined> {
    if (!this.headerBytes && !this.eof && !this.failure) await new Promise<void>((r) => { this.headerWaiter = r; });
    if (this.failure) throw this.failure;
    return this.headerBytes;
  }

  /** Starts frame decoding with the number of input streams the request declared. */
  startFrames(streams: number): void {
    this.decoder = new FrameDecoder(streams);
    for (let i = 0; i < streams; i++) { this.streams.push([]); this.sizes.push(0); this.closed.push(false); }
    const rest = this.rest;
    this.rest = undefined;
    this.arm('the next frame');
    if (rest && rest.length) this.onData(rest);
    if (!this.failure && !this.closed.every(Boolean)) this.stdin.resume();
  }

  /** Waits until all input streams are closed; undefined if the client went away first. */
  async readStreams(): Promise<Buffer[] | undefined> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.closed.every(Boolean)) return this.streams.map((p) => Buffer.concat(p));
      if (this.eof) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}
