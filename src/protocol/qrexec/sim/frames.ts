/**
 * The simulator's wire format between a qube's qrexec socket and the router: a stream of
 * frames `{u8 type, u32 BE length, payload}`. One connection carries one call: the caller
 * sends REQUEST first, then STDIN data and STDIN_EOF; the router answers with STDOUT/STDERR
 * data and finally EXIT (u32 exit code), after which the connection closes.
 */
export const enum FrameType {
  Request = 1,
  Stdin = 2,
  StdinEof = 3,
  Stdout = 4,
  Stderr = 5,
  Exit = 6,
}

export interface Frame { type: FrameType; payload: Buffer }

const HEADER = 5;
/** Frames larger than this are a protocol error: data is chunked well below it. */
export const MAX_FRAME = 1 << 20;
/** Data frames carry at most this much (big frames: fewer headers and writes per MiB). */
export const DATA_CHUNK = 256 * 1024;

const isData = (t: number): boolean => t === FrameType.Stdin || t === FrameType.Stdout || t === FrameType.Stderr;

export function frameHeader(type: FrameType, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h[0] = type;
  h.writeUInt32BE(length, 1);
  return h;
}

export function encodeFrame(type: FrameType, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = frameHeader(type, payload.length);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

export function encodeExit(code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code >>> 0, 0);
  return encodeFrame(FrameType.Exit, p);
}

/** Where frames go: a net.Socket (cork/uncork turn header + payload into one writev). */
export interface FrameSink {
  write(b: Buffer): boolean;
  cork(): void;
  uncork(): void;
  readonly writableLength: number;
}

/**
 * Bytes a relay lets queue on a stream before it pauses its source. Far above Node's default
 * high-water mark (16 KiB, less than one read), so the source is paused only when the far end
 * really falls behind, not after every chunk; 'drain' (which such a write always arms) resumes it.
 */
export const RELAY_HIGH_WATER = 1024 * 1024;

/** True while `w` has queued less than RELAY_HIGH_WATER: keep reading; else wait for 'drain'. */
export function hasRoom(w: { readonly writableLength: number }): boolean {
  return w.writableLength < RELAY_HIGH_WATER;
}

/**
 * Writes `data` as data frames of at most DATA_CHUNK bytes without copying it: each frame's
 * header and payload go out in one corked (writev) write. Returns hasRoom(sink).
 */
export function writeData(sink: FrameSink, type: FrameType, data: Buffer): boolean {
  sink.cork();
  for (let i = 0; i < data.length; i += DATA_CHUNK) {
    const part = data.length - i > DATA_CHUNK ? data.subarray(i, i + DATA_CHUNK) : i === 0 ? data : data.subarray(i);
    sink.write(frameHeader(type, part.length));
    sink.write(part);
  }
  sink.uncork();
  return hasRoom(sink);
}

/**
 * Incremental decoder: feed bytes as they arrive. Control frames (REQUEST, STDIN_EOF, EXIT)
 * come out whole; data frames (STDIN, STDOUT, STDERR) come out in pieces as their bytes
 * arrive, each piece a view of the pushed chunk (no copy), in order, never empty. A data
 * stream is a byte stream: frame boundaries carry no meaning, so consumers just concatenate.
 */
export class FrameDecoder {
  /** Header bytes of the frame being read (a header may straddle chunks). */
  private readonly head = Buffer.allocUnsafe(HEADER);
  private headLen = 0;
  private type = 0;
  /** Payload bytes still to come for the current frame; -1 while reading a header. */
  private remaining = -1;
  /** A control frame's payload so far. */
  private ctrl: Buffer[] = [];

  /** Rejects unknown frame types and oversize frames: the peer is not speaking our protocol. */
  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let p = 0;
    const n = chunk.length;
    for (;;) {
      if (this.remaining < 0) {
        if (this.headLen === 0 && n - p >= HEADER) {
          this.begin(chunk[p]!, chunk.readUInt32BE(p + 1));
          p += HEADER;
        } else {
          const take = Math.min(HEADER - this.headLen, n - p);
          chunk.copy(this.head, this.headLen, p, p + take);
          this.headLen += take;
          p += take;
          if (this.headLen < HEADER) return out;
          this.headLen = 0;
          this.begin(this.head[0]!, this.head.readUInt32BE(1));
        }
      }
      const take = Math.min(this.remaining, n - p);
      if (isData(this.type)) {
        if (take > 0) out.push({ type: this.type, payload: take === n ? chunk : chunk.subarray(p, p + take) });
      } else if (take > 0) {
        this.ctrl.push(chunk.subarray(p, p + take));
      }
      p += take;
      this.remaining -= take;
      if (this.remaining > 0) return out;
      if (!isData(this.type)) {
        const payload = this.ctrl.length === 1 ? this.ctrl[0]! : Buffer.concat(this.ctrl);
        out.push({ type: this.type, payload });
        this.ctrl = [];
      }
      this.remaining = -1;
      if (p === n) return out;
    }
  }

  private begin(type: number, len: number): void {
    if (type < FrameType.Request || type > FrameType.Exit) throw new Error(`unknown frame type ${type}`);
    if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is too large`);
    this.type = type;
    this.remaining = len;
  }

  /** Bytes of an unfinished frame held or still expected (0 between frames). */
  get pending(): number { return this.remaining < 0 ? this.headLen : this.remaining; }
}

export interface SimRequest { target: string; service: string; argument?: string }

/** A REQUEST payload is JSON with exactly target, service and an optional argument, all strings. */
export function parseRequest(payload: Buffer): SimRequest {
  const v: unknown = JSON.parse(payload.toString('utf8'));
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('request is not an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['target', 'service', 'argument'].includes(k)) throw new Error(`unknown request field ${k}`);
  if (typeof o.target !== 'string' || typeof o.service !== 'string') throw new Error('request needs target and service');
  if (o.argument !== undefined && typeof o.argument !== 'string') throw new Error('argument must be a string');
  return { target: o.target, service: o.service, ...(o.argument !== undefined ? { argument: o.argument } : {}) };
}
