import { closeSync, openSync, readSync } from 'node:fs';

/**
 * The simulator's data channels: with its REQUEST the caller opens two more connections to
 * its own qube socket, one for the service's stdin and one for its stdout. Each starts with a
 * fixed header `{u8 'D', u8 channel, 16-byte token}`, the token the REQUEST names; then the
 * router hands the connection itself to the service as its stdin or stdout, so the bytes go
 * caller ⇄ service through the kernel, never through the router (as qrexec's vchan bypasses
 * dom0). The caller picks the token so that the channels need not wait for a reply: the
 * service can be spawned as soon as policy allows the call.
 */
export type Channel = 'stdin' | 'stdout';

/** First byte of a data connection. A control connection starts with a REQUEST frame (type 1). */
export const CHANNEL_MAGIC = 0x44;
export const TOKEN_BYTES = 16;
export const CHANNEL_HEADER_BYTES = 2 + TOKEN_BYTES;

const CODES: Record<Channel, number> = { stdin: 1, stdout: 2 };

export function encodeChannelHeader(channel: Channel, token: Buffer): Buffer {
  if (token.length !== TOKEN_BYTES) throw new Error(`a token is ${TOKEN_BYTES} bytes`);
  return Buffer.concat([Buffer.from([CHANNEL_MAGIC, CODES[channel]]), token]);
}

/**
 * A fresh token from the kernel's random source. Read directly: node:crypto would cost a
 * per-call client (`qbuild sign`) several milliseconds to load.
 */
export function randomToken(): Buffer {
  const token = Buffer.alloc(TOKEN_BYTES);
  const fd = openSync('/dev/urandom', 'r');
  try {
    if (readSync(fd, token, 0, TOKEN_BYTES, null) !== TOKEN_BYTES) throw new Error('short read from /dev/urandom');
  } finally {
    closeSync(fd);
  }
  return token;
}

export interface ChannelHeader { channel: Channel; /** hex */ token: string }

/**
 * Reads one data-channel header from the bytes of a connection as they arrive. Rules: the
 * first byte is CHANNEL_MAGIC, the second names stdin (1) or stdout (2), then exactly
 * TOKEN_BYTES of token; the caller sends nothing more until the router says STARTED, so any
 * byte past the header is an error (it would otherwise be lost in the router's buffers).
 */
export class ChannelHeaderReader {
  private readonly head = Buffer.alloc(CHANNEL_HEADER_BYTES);
  private got = 0;

  /** Header bytes still to come. */
  get missing(): number { return CHANNEL_HEADER_BYTES - this.got; }

  /** The header once complete (returned once), else undefined; throws on any malformed byte. */
  push(chunk: Buffer): ChannelHeader | undefined {
    if (this.got + chunk.length > CHANNEL_HEADER_BYTES) throw new Error('data channel sent bytes before the service started');
    chunk.copy(this.head, this.got);
    const from = this.got;
    this.got += chunk.length;
    if (from === 0 && this.got > 0 && this.head[0] !== CHANNEL_MAGIC) throw new Error('not a data channel');
    if (from <= 1 && this.got > 1 && this.head[1] !== CODES.stdin && this.head[1] !== CODES.stdout) {
      throw new Error(`unknown data channel ${this.head[1]}`);
    }
    if (this.got < CHANNEL_HEADER_BYTES || chunk.length === 0) return undefined;
    return { channel: this.head[1] === CODES.stdin ? 'stdin' : 'stdout', token: this.head.subarray(2).toString('hex') };
  }
}
