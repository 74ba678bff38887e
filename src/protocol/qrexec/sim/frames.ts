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

export function encodeFrame(type: FrameType, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h.writeUInt8(type, 0);
  h.writeUInt32BE(payload.length, 1);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

export function encodeExit(code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code >>> 0, 0);
  return encodeFrame(FrameType.Exit, p);
}

/** Incremental decoder: feed bytes as they arrive, get whole frames out. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Rejects unknown frame types and oversize frames: the peer is not speaking our protocol. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER) {
      const type = this.buf.readUInt8(0);
      const len = this.buf.readUInt32BE(1);
      if (type < FrameType.Request || type > FrameType.Exit) throw new Error(`unknown frame type ${type}`);
      if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is too large`);
      if (this.buf.length < HEADER + len) break;
      out.push({ type, payload: this.buf.subarray(HEADER, HEADER + len) });
      this.buf = this.buf.subarray(HEADER + len);
    }
    return out;
  }

  get pending(): number { return this.buf.length; }
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
