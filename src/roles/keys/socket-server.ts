import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { oneLine } from '../../errors.js';
import { SocketHeaderReader, encodeInBandExit, type SocketServiceHeader } from '../../protocol/qrexec/socket-service.js';
import type { ServiceHandler } from '../service.js';

/** One socket-based qrexec service of a resident daemon (docs/qrexec.md, "Socket services"). */
export interface SocketServiceSpec {
  /** Where the socket is bound (the rpc entry is this socket, or a symlink to it). */
  path: string;
  /** The one service this socket serves: a header naming another is refused. */
  service: string;
  handler: ServiceHandler;
  env: NodeJS.ProcessEnv;
  /**
   * Read per connection (config changes apply without a restart): no byte either way for this
   * long ends a connection. A backstop: a handler with its own timeouts (qubes.Gpg's idle rule)
   * gets a longer one here, so it answers first.
   */
  idleMs: () => number;
  /**
   * Socket services have no stderr and qrexec reports exit 0 whatever happened. A service
   * whose caller needs the outcome (LogReceived) gets its stderr lines and a last line
   * `exit N` written after its stdout instead (encodeInBandExit), so a refusal stays one.
   */
  inBandExit: boolean;
  log: (line: string) => void;
}

/** Most connections one socket holds at once (each is small; qubes.Gpg has its own tighter bound). */
const MAX_CONNECTIONS = 256;
/** stderr kept per call for an in-band answer. */
const MAX_STDERR = 4096;

/**
 * Binds SPEC's socket (a stale socket left by a dead daemon is replaced; any other file there
 * is an error) and serves each connection as one call: the header (SocketHeaderReader), then
 * the handler with the rest of the connection as its stdin and stdout. A call that throws,
 * stalls or whose caller vanishes ends only its own connection.
 */
export async function listenSocketService(spec: SocketServiceSpec): Promise<{ server: Server; close(): Promise<void> }> {
  mkdirSync(dirname(spec.path), { recursive: true, mode: 0o700 });
  try {
    if (lstatSync(spec.path).isSocket()) unlinkSync(spec.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const live = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (sock) => {
    live.add(sock);
    sock.once('close', () => live.delete(sock));
    serveConnection(spec, sock);
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(spec.path, () => { server.off('error', reject); resolve(); }); });
  chmodSync(spec.path, 0o600);
  server.on('error', (e) => spec.log(`${spec.service}: socket error: ${oneLine(e)}`));
  return {
    server,
    // Stops accepting, then ends the calls still open (a stalled one would hold the stop for its idle time).
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const sock of live) sock.destroy();
    }),
  };
}

function serveConnection(spec: SocketServiceSpec, sock: Socket): void {
  const idleMs = spec.idleMs();
  const reader = new SocketHeaderReader();
  const stdin = new PassThrough();
  let header: SocketServiceHeader | undefined;
  sock.on('error', () => { /* caller vanished: 'close' follows */ });
  // No byte either way for idleMs: the call is over (a stalled caller or reader holds nothing).
  sock.setTimeout(idleMs, () => {
    spec.log(`${spec.service}: connection idle for ${idleMs} ms${header ? ` (from ${header.source})` : ' before its header'}: closed`);
    sock.destroy();
  });
  // A service that stopped reading destroys its stdin: later bytes are dropped.
  stdin.on('error', () => { /* destroyed by the service */ });
  const feed = (chunk: Buffer) => {
    if (chunk.length && !stdin.destroyed && !stdin.write(chunk)) { sock.pause(); stdin.once('drain', () => sock.resume()); }
  };
  sock.on('data', (chunk: Buffer) => {
    if (header) return feed(chunk);
    let got;
    try {
      got = reader.push(chunk);
    } catch (e) {
      spec.log(`${spec.service}: refused connection: ${oneLine(e)}`);
      sock.destroy();
      return;
    }
    if (!got) return;
    header = got.header;
    if (header.service !== spec.service) {
      spec.log(`${spec.service}: refused connection: header names ${header.service}`);
      sock.destroy();
      return;
    }
    feed(got.rest);
    void runCall(spec, header, sock, stdin);
  });
  // The caller's EOF (qrexec shuts the socket down for writing), or the caller gone: the
  // service sees the end of its stdin either way.
  sock.on('end', () => stdin.end());
  sock.on('close', () => { if (!stdin.writableEnded) stdin.end(); });
}

async function runCall(spec: SocketServiceSpec, h: SocketServiceHeader, sock: Socket, stdin: PassThrough): Promise<void> {
  const stdout = new Writable({
    // A vanished caller's writes are dropped, never an 'error' event (nothing would handle it).
    write(chunk: Buffer, _enc, done) {
      if (sock.destroyed || sock.writableEnded) return done();
      sock.write(chunk, () => done());
    },
  });
  const stderrParts: Buffer[] = [];
  let stderrSize = 0;
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (stderrSize < MAX_STDERR) { stderrParts.push(chunk.subarray(0, MAX_STDERR - stderrSize)); stderrSize += chunk.length; }
      done();
    },
  });
  let code: number;
  try {
    code = await spec.handler(
      { remoteDomain: h.source, service: h.service, argument: h.argument, requestedTarget: undefined },
      { stdin, stdout, stderr, env: spec.env },
    );
  } catch (e) {
    spec.log(`${spec.service}: call from ${h.source} failed: ${oneLine(e)}`);
    stderr.write(`qbuild: keys: ${oneLine(e)}\n`);
    code = 1;
  }
  stdin.destroy();
  if (sock.destroyed) return;
  if (spec.inBandExit) {
    sock.write(encodeInBandExit(Buffer.concat(stderrParts).toString('utf8'), code));
  }
  // The service's EOF; the caller's side may still be open (it closes once it saw the answer).
  sock.end();
}
