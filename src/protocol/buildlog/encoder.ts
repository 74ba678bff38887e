import { KERNEL_SLACK, type EncodeKernel, loadKernel } from './encode-kernel.js';
import { CUT_CAP, CUT_LONG, END_MARKER, SANITIZE, linePrefix, markerLine } from './format.js';
import { MANIFEST_PREFIX, MAX_MANIFEST_ENTRIES, MAX_MANIFEST_LEDGER_BYTES, Manifest, parseManifestLine } from './manifest.js';
import { isCleanBlock, linesFit } from './scan.js';

export interface EncoderOptions {
  /** false: never use the WebAssembly kernel (the JS paths only; tests compare both). */
  wasm?: boolean;
  /** The build VM's name, as qrexec authenticated it (goes into every line's prefix). */
  vm: string;
  /** Longer lines are stored as several lines of at most this many bytes. */
  maxLineBytes: number;
  /** Past this many stored bytes, input is counted, not stored (and the log says so). */
  maxLogBytes: number;
}

const END = Buffer.from(END_MARKER, 'latin1');
const MANIFEST = Buffer.from(MANIFEST_PREFIX, 'latin1');
/** Lines that matter to the encoder (manifest, end marker) all contain this: such blocks take the exact path. */
const SPECIAL = Buffer.from('qbuild-', 'latin1');
const BAD_RE = /[^\n\x20-\x7e]/g;
/** Lines longer than this can be neither a manifest line nor the end marker. */
const KEEP = 512;

/** Kernel memory layout: the prefix at 0 (a longer prefix uses the JS path), the input block from IN_OFF, then the output. */
const PFX_CAP = 256;
const IN_OFF = PFX_CAP;
const PAGE = 65536;
const align16 = (n: number): number => (n + 15) & ~15;

/**
 * Turns a build VM's raw byte stream into stored log lines, chunk by chunk: scans for `\n`
 * with indexOf, sanitises through a byte table and appends into one growing output buffer,
 * so a chunk costs a few native calls plus one table lookup per byte. Lines that arrive in
 * one chunk share its arrival time. Pure: bytes in, bytes out; the caller does the I/O.
 *
 * With the WebAssembly kernel (encode-kernel.ts; Node 20 has it), the output buffer lives in
 * the kernel's memory: blocks of complete lines are copied in and encoded there 16 bytes per
 * step, the exact path writes into the same buffer, and take() is a view of that memory, so
 * the caller writes it to disk without another copy.
 *
 * Usage: push()/marker()/finish() append output; take() hands it over (valid until the next call).
 */
export class LineEncoder {
  readonly opts: EncoderOptions;
  private out = Buffer.allocUnsafe(256 * 1024);
  private o = 0;
  /** The first KEEP sanitised bytes of the current line, while it is whole (for lineDone). */
  private readonly head = Buffer.allocUnsafe(KEEP);
  /** Bytes of the current line have arrived (stored or, past the cap, counted). */
  private midLine = false;
  /** A stored line (its prefix and pieceLen bytes) has no newline yet. */
  private open = false;
  /** Bytes of the current line in its current stored line (≤ maxLineBytes). */
  private pieceLen = 0;
  /** The current line was cut (longer than maxLineBytes, or cut by the size cap). */
  private continued = false;
  private prefix: Buffer = Buffer.alloc(0);
  private prefixStr = '';
  private nlPrefixStr = '\n';
  private prefixMicros = -1;
  private readonly kernel: EncodeKernel | undefined;
  /** Kernel mode: all of the kernel's memory, and where the input and output regions start. */
  private mem: Buffer = Buffer.alloc(0);
  private inCap = 0;
  private outOff = 0;

  storedBytes = 0;
  /** Complete lines received (a split line counts once). */
  lines = 0;
  receivedBytes = 0;
  capped = false;
  droppedBytes = 0;
  droppedLines = 0;
  /** The last complete line was END_MARKER: the build VM said it was done. */
  endMarkerSeen = false;
  readonly manifest = new Manifest();

  constructor(opts: EncoderOptions) {
    if (!(opts.maxLineBytes >= 1)) throw new RangeError('maxLineBytes must be ≥ 1');
    this.opts = opts;
    this.kernel = opts.wasm === false ? undefined : loadKernel();
    if (this.kernel) {
      this.inCap = 64 * 1024;
      this.outOff = align16(IN_OFF + this.inCap + KERNEL_SLACK);
      this.kernel.memory.grow(Math.ceil((this.outOff + 256 * 1024) / PAGE));
      this.remap();
    }
  }

  /** Kernel mode: fresh views after the memory grew (growing detaches the old ones). */
  private remap(): void {
    const buf = this.kernel!.memory.buffer;
    this.mem = Buffer.from(buf);
    this.out = Buffer.from(buf, this.outOff, buf.byteLength - this.outOff);
  }

  /** Appends a `>` line (markers, notices). Markers are stored even past the size cap. */
  marker(micros: number, message: string): void {
    const b = Buffer.from(markerLine(micros, message), 'latin1');
    this.reserve(b.length);
    this.out.set(b, this.o);
    this.o += b.length;
    this.storedBytes += b.length;
  }

  /**
   * Feeds received bytes that arrived at `micros`. The block of complete lines in a chunk goes
   * through the fast path when it can (see block()); a line continued from the previous chunk
   * and the unterminated tail go through the exact per-line path.
   */
  push(chunk: Buffer, micros: number): void {
    this.receivedBytes += chunk.length;
    this.setTime(micros);
    const n = chunk.length;
    let s = 0;
    if (this.midLine) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        this.feed(chunk, 0, n, false);
        return;
      }
      this.feed(chunk, 0, nl, true);
      s = nl + 1;
    }
    const last = chunk.lastIndexOf(10);
    if (last >= s) {
      this.block(chunk, s, last + 1);
      s = last + 1;
    }
    if (s < n) this.feed(chunk, s, n, false);
  }

  private setTime(micros: number): void {
    if (micros === this.prefixMicros) return;
    this.prefixStr = linePrefix(micros, this.opts.vm);
    this.nlPrefixStr = `\n${this.prefixStr}`;
    this.prefix = Buffer.from(this.prefixStr, 'latin1');
    this.prefixMicros = micros;
    if (this.kernel && this.prefix.length <= PFX_CAP - 16) this.mem.set(this.prefix, 0);
  }

  /**
   * Complete lines src[s, e) (e just after a newline). Fast path, when no line is longer than
   * maxLineBytes, none mentions `qbuild-` and the size cap is not reached: sanitise with one
   * regex (only if the block is not clean) and insert the prefixes with one replaceAll — the
   * same bytes the exact path would store. The line count follows from the lengths: each
   * inner newline grew by one prefix.
   */
  private block(src: Buffer, s: number, e: number): void {
    if (this.kernel) {
      if (!this.capped && this.kernelBlock(src, s, e)) return;
    } else if (!this.capped) {
      const special = src.indexOf(SPECIAL, s);
      if ((special < 0 || special >= e) && linesFit(src, s, e, this.opts.maxLineBytes)) {
        let text = src.toString('latin1', s, e - 1);
        if (!isCleanBlock(src, s, e)) text = text.replace(BAD_RE, '.');
        const body = text.length;
        text = text.replaceAll('\n', this.nlPrefixStr);
        const size = this.prefix.length + text.length + 1;
        if (this.storedBytes + size <= this.opts.maxLogBytes) {
          this.reserve(size);
          this.out.set(this.prefix, this.o);
          this.o += this.prefix.length;
          this.o += this.out.write(text, this.o, 'latin1');
          this.out[this.o++] = 10;
          this.storedBytes += size;
          this.lines += (text.length - body) / this.prefix.length + 1;
          this.endMarkerSeen = false;
          return;
        }
      }
    }
    let p = s;
    while (p < e) {
      const nl = src.indexOf(10, p);
      this.feed(src, p, nl, true);
      p = nl + 1;
    }
  }

  /**
   * The block through the kernel; false when the exact path must store it instead (the kernel
   * refused: overlong line or `qbuild-`; or the size cap would be reached). Output space is
   * reserved for the worst case (every byte a newline); untouched pages cost no memory.
   */
  private kernelBlock(src: Buffer, s: number, e: number): boolean {
    const plen = this.prefix.length;
    if (plen > PFX_CAP - 16) return false;
    const n = e - s;
    if (n > this.inCap) this.growInput(n);
    this.reserve(plen + n * (plen + 1));
    this.mem.set(src.subarray(s, e), IN_OFF);
    const start = this.outOff + this.o;
    const end = this.kernel!.encode(IN_OFF, IN_OFF + n, 0, plen, start, this.opts.maxLineBytes);
    if (end < 0) return false;
    const size = end - start;
    if (this.storedBytes + size > this.opts.maxLogBytes) return false;
    this.o += size;
    this.storedBytes += size;
    this.lines += (size - n) / plen;
    this.endMarkerSeen = false;
    return true;
  }

  /** Kernel mode: room for an n-byte input block; the output so far moves up. */
  private growInput(n: number): void {
    const inCap = Math.max(n, this.inCap * 2);
    const outOff = align16(IN_OFF + inCap + KERNEL_SLACK);
    const need = outOff + this.o + KERNEL_SLACK;
    const have = this.kernel!.memory.buffer.byteLength;
    if (need > have) this.kernel!.memory.grow(Math.ceil((need - have) / PAGE));
    const mem = Buffer.from(this.kernel!.memory.buffer);
    mem.copyWithin(outOff, this.outOff, this.outOff + this.o);
    this.inCap = inCap;
    this.outOff = outOff;
    this.remap();
  }

  /**
   * The stream ended: a last line without newline is completed and counts as a line (as
   * upstream stores it); then the size-cap and manifest notes.
   */
  finish(micros: number): void {
    this.setTime(micros);
    if (this.midLine) {
      if (this.open) this.endVmLine();
      this.lineDone();
    }
    if (this.capped) {
      this.marker(micros, `size cap: ${this.droppedBytes} bytes in ${this.droppedLines} lines received but not stored`);
    }
    if (this.manifest.dropped > 0) {
      this.marker(micros, `manifest: ${this.manifest.dropped} qbuild-sign entries past the limit of ${MAX_MANIFEST_ENTRIES} entries or ${MAX_MANIFEST_LEDGER_BYTES} ledger bytes grant nothing`);
    }
  }

  /** The output appended since the last take(); a view valid until the next call. */
  take(): Buffer {
    const b = this.out.subarray(0, this.o);
    this.o = 0;
    return b;
  }

  /**
   * Bytes src[s, e) continue the current line; `ends` = a newline followed them. They are
   * stored at once, even without a newline yet (docs/logs.md: a partial line is on disk as
   * soon as any other byte): the open stored line is appended to as more arrives. A line
   * longer than maxLineBytes is cut into pieces, each followed by a CUT marker line, so a
   * reader of the stored log (stored.ts) never takes a piece for a line of its own.
   */
  private feed(src: Buffer, s: number, e: number, ends: boolean): void {
    if (e > s) this.midLine = true;
    const max = this.opts.maxLineBytes;
    while (s < e && !this.capped) {
      if (this.pieceLen === max) this.cut(CUT_LONG);
      const take = Math.min(e - s, max - this.pieceLen);
      if (!this.store(src, s, s + take)) break;
      s += take;
    }
    if (this.capped) {
      this.droppedBytes += e - s + (ends ? 1 : 0);
    } else if (ends) {
      if (!this.open) this.store(src, s, s);
      if (this.open) this.endVmLine();
      else this.droppedBytes += 1;
    }
    if (ends) this.lineDone();
  }

  /**
   * Appends src[s, e) (sanitised) to the open stored line, opening one (prefix) if none is
   * open; false when that would pass maxLogBytes (the log is capped from here on). One byte
   * stays reserved for the open line's newline, so completing it never passes the cap.
   */
  private store(src: Buffer, s: number, e: number): boolean {
    const n = e - s;
    const need = (this.open ? 0 : this.prefix.length) + n + 1;
    if (this.storedBytes + need > this.opts.maxLogBytes) {
      if (this.open) this.cut(CUT_CAP);
      this.capped = true;
      this.marker(this.prefixMicros, `size cap of ${this.opts.maxLogBytes} bytes reached: further input is counted, not stored`);
      return false;
    }
    this.reserve(need);
    const out = this.out;
    let o = this.o;
    if (!this.open) {
      out.set(this.prefix, o);
      o += this.prefix.length;
      this.open = true;
    }
    const T = SANITIZE;
    // The first bytes of a line that is still whole are kept for lineDone (manifest, end marker).
    const keep = this.continued ? 0 : Math.max(0, Math.min(n, KEEP - this.pieceLen));
    const kept = this.pieceLen;
    for (let i = s; i < e; i++) out[o++] = T[src[i]!]!;
    if (keep > 0) out.copy(this.head, kept, o - n, o - n + keep);
    this.storedBytes += o - this.o;
    this.o = o;
    this.pieceLen += n;
    return true;
  }

  /** Ends the open stored line with its newline (the reserved byte). */
  private endVmLine(): void {
    this.reserve(1);
    this.out[this.o++] = 10;
    this.storedBytes += 1;
    this.open = false;
  }

  /** The open stored line does not end the build VM's line: newline, then a CUT marker. */
  private cut(message: string): void {
    this.endVmLine();
    this.marker(this.prefixMicros, message);
    this.pieceLen = 0;
    this.continued = true;
  }

  /**
   * Bookkeeping when a line completes: count, end marker, manifest entry. Only a whole stored
   * line counts (never a piece of a cut line, never a line at or past the size cap), judged on
   * its sanitised bytes: exactly what a reader of the stored log sees (stored.ts), so the
   * manifest recovered from the file after a crash is the one collected here.
   */
  private lineDone(): void {
    const whole = !this.continued && !this.capped;
    const len = this.pieceLen;
    this.continued = false;
    this.midLine = false;
    this.pieceLen = 0;
    this.lines++;
    if (this.capped) this.droppedLines++;
    const h = this.head;
    // Both special lines start with "q": one byte test keeps ordinary lines cheap.
    const q = whole && len > 0 && len <= KEEP && h[0] === 0x71;
    this.endMarkerSeen = q && len === END.length && h.compare(END, 0, END.length, 0, len) === 0;
    if (q && len > MANIFEST.length && h.compare(MANIFEST, 0, MANIFEST.length, 0, MANIFEST.length) === 0) {
      const entry = parseManifestLine(h.toString('latin1', 0, len));
      if (entry) this.manifest.add(entry);
    }
  }

  private reserve(n: number): void {
    if (this.kernel) {
      const need = this.outOff + this.o + n + KERNEL_SLACK;
      const have = this.kernel.memory.buffer.byteLength;
      if (need > have) {
        this.kernel.memory.grow(Math.ceil(Math.max(need - have, have / 2) / PAGE));
        this.remap();
      }
      return;
    }
    if (this.o + n <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.o + n));
    this.out.copy(grown, 0, 0, this.o);
    this.out = grown;
  }
}
