import { connect } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Call, CallRequest, Transport } from './transport.js';
import { EXIT_PROBLEM } from './exit-codes.js';
import { FrameDecoder, FrameType, encodeFrame, hasRoom, writeData } from './sim/frames.js';

/**
 * Simulator: the call goes to this qube's own router socket. The router knows which qube a
 * socket belongs to, so a caller cannot claim another source (as with qrexec's vchan).
 */
export class SimTransport implements Transport {
  constructor(private readonly socketPath: string) {}

  call(req: CallRequest): Call {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const sock = connect(this.socketPath);
    const exit = new Promise<number>((resolve) => {
      let code: number | undefined;
      const decoder = new FrameDecoder();
      const finish = (c: number) => {
        if (code !== undefined) return;
        code = c;
        stdout.end();
        stderr.end();
        resolve(c);
      };
      sock.on('data', (chunk: Buffer) => {
        let frames;
        try { frames = decoder.push(chunk); } catch (e) {
          stderr.write(`qrexec (sim): ${(e as Error).message}\n`);
          sock.destroy();
          return finish(EXIT_PROBLEM);
        }
        let full = false;
        for (const f of frames) {
          if (f.type === FrameType.Stdout) { stdout.write(f.payload); full = !hasRoom(stdout); }
          else if (f.type === FrameType.Stderr) stderr.write(f.payload);
          else if (f.type === FrameType.Exit) { finish(f.payload.readUInt32BE(0)); sock.end(); }
        }
        if (full && code === undefined) { sock.pause(); stdout.once('drain', () => sock.resume()); }
      });
      sock.on('error', (e) => {
        stderr.write(`qrexec (sim): cannot reach the router at ${this.socketPath}: ${e.message}\n`);
        finish(EXIT_PROBLEM);
      });
      sock.on('close', () => finish(EXIT_PROBLEM));
    });
    sock.on('connect', () => {
      const body = JSON.stringify({ target: req.target, service: req.service, ...(req.argument !== undefined ? { argument: req.argument } : {}) });
      sock.write(encodeFrame(FrameType.Request, Buffer.from(body)));
      stdin.on('data', (chunk: Buffer) => {
        if (!writeData(sock, FrameType.Stdin, chunk)) {
          stdin.pause();
          sock.once('drain', () => stdin.resume());
        }
      });
      stdin.on('end', () => { if (!sock.destroyed) sock.write(encodeFrame(FrameType.StdinEof)); });
    });
    // Before connect, PassThrough buffers stdin; after exit, further writes are dropped.
    stdin.on('error', () => {});
    return { stdin, stdout, stderr, exit };
  }
}
