/**
 * The simulator's control connection between a qube's qrexec socket and the router: a stream
 * of frames `{u8 type, u32 BE length, payload}`. One connection carries one call. The caller
 * sends REQUEST, naming the token of the data channels it opens at the same time (see
 * channel.ts); a refusal is STDERR + EXIT. Once the service runs, the router sends STARTED,
 * then the service's STDERR and finally EXIT (u32 exit code). stdin and stdout never pass
 * here: they flow caller ⇄ service over the data channels, as over a qrexec vchan.
 * (Type 2 was ACCEPT, when the router chose the token; it is no longer valid.)
 */
export const enum FrameType {
  Request = 1,
  Started = 3,
  Stderr = 4,
  Exit = 5,
}

const KNOWN_TYPES: ReadonlySet<number> = new Set([FrameType.Request, FrameType.Started, FrameType.Stderr, FrameType.Exit]);

export interface Frame { type: FrameType; payload: Buffer }

const HEADER = 5;
/** Frames larger than this are a protocol error: stderr is sent in chunks below it. */
export const MAX_FRAME = 1 << 20;

export function encodeFrame(type: FrameType, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.allocUnsafe(HEADER);
  h[0] = type;
  h.writeUInt32BE(payload.length, 1);
  return payload.length ? Buffer.concat([h, payload]) : h;
}

export function encodeExit(code: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(code >>> 0, 0);
  return encodeFrame(FrameType.Exit, p);
}

/** STDERR frames for `data`, each within MAX_FRAME. */
export function encodeStderr(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += MAX_FRAME) out.push(encodeFrame(FrameType.Stderr, data.subarray(i, i + MAX_FRAME)));
  return out;
}

/** The exit code an EXIT frame carries: exactly a u32. */
export function parseExit(payload: Buffer): number {
  if (payload.length !== 4) throw new Error(`EXIT frame of ${payload.length} bytes`);
  return payload.readUInt32BE(0);
}

/** Incremental decoder: feed bytes as they arrive, whole frames come out in order. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Rejects unknown frame types and oversize frames: the peer is not speaking our protocol. */
  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let b = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (b.length >= HEADER) {
      const type = b[0]!;
      const len = b.readUInt32BE(1);
      if (!KNOWN_TYPES.has(type)) throw new Error(`unknown frame type ${type}`);
      if (len > MAX_FRAME) throw new Error(`frame of ${len} bytes is too large`);
      if (b.length < HEADER + len) break;
      out.push({ type, payload: b.subarray(HEADER, HEADER + len) });
      b = b.subarray(HEADER + len);
    }
    this.buf = b;
    return out;
  }

  /** Bytes of an unfinished frame held (0 between frames). */
  get pending(): number { return this.buf.length; }
}

export interface SimRequest {
  target: string;
  service: string;
  argument?: string;
  /** The call's data-channel token, chosen by the caller: TOKEN_BYTES random bytes as hex. */
  token: string;
}

/**
 * A REQUEST payload is JSON with exactly target, service, token and an optional argument, all
 * strings; the token is 32 lowercase hex digits (16 bytes).
 */
export function parseRequest(payload: Buffer): SimRequest {
  const v: unknown = JSON.parse(payload.toString('utf8'));
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('request is not an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['target', 'service', 'argument', 'token'].includes(k)) throw new Error(`unknown request field ${k}`);
  if (typeof o.target !== 'string' || typeof o.service !== 'string') throw new Error('request needs target and service');
  if (o.argument !== undefined && typeof o.argument !== 'string') throw new Error('argument must be a string');
  if (typeof o.token !== 'string' || !/^[0-9a-f]{32}$/.test(o.token)) throw new Error('request needs a token of 32 lowercase hex digits');
  return { target: o.target, service: o.service, ...(o.argument !== undefined ? { argument: o.argument } : {}), token: o.token };
}
