import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import type { Call, CallRequest, Transport } from './transport.js';
import { EXIT_PROBLEM } from './exit-codes.js';
import { FrameDecoder, FrameType, encodeFrame, parseExit } from './sim/frames.js';
import { encodeChannelHeader, randomToken } from './sim/channel.js';
import { forward } from './sim/forward.js';

/** What the caller does with a simulated call's streams. */
export interface SimCallHandlers {
  /**
   * The service runs: `stdin` is connected to its stdin (end() it at the end of the input),
   * `stdout` to its stdout. Not called when the call ended before (refused, no service...).
   */
  started(stdin: Socket, stdout: Socket): void;
  stderr(chunk: Buffer): void;
  /** Aborting ends the call from this side: its connections close, the router ends the service. */
  signal?: AbortSignal;
}

/**
 * One simulated call from this qube: REQUEST on a control connection to the qube's own router
 * socket, naming a fresh random token, and at once two data connections (stdin, stdout)
 * carrying that token, which the router hands to the service itself. Resolves with the exit
 * code once the EXIT frame has arrived and the service's stdout has ended (so no output is
 * cut off).
 */
export function runSimCall(socketPath: string, req: CallRequest, h: SimCallHandlers): Promise<number> {
  return new Promise<number>((resolve) => {
    const token = randomToken();
    const decoder = new FrameDecoder();
    let code: number | undefined;
    let started = false;
    let stdoutDone = false;
    let settled = false;
    const settle = () => {
      if (settled || code === undefined || !stdoutDone) return;
      settled = true;
      ctl.destroy();
      // The service is gone: what is left of its stdin channel goes nowhere.
      if (!inSock.writableEnded) inSock.destroy();
      resolve(code);
    };
    const fail = (message: string) => {
      if (code !== undefined) return;
      h.stderr(Buffer.from(`qrexec (sim): ${message}\n`));
      code = EXIT_PROBLEM;
      for (const s of [ctl, inSock, outSock]) s.destroy();
      stdoutDone = true;
      settle();
    };
    // Writes before the connection completes are queued by the socket, in order.
    const ctl = connect(socketPath);
    const body = JSON.stringify({ target: req.target, service: req.service, ...(req.argument !== undefined ? { argument: req.argument } : {}), token: token.toString('hex') });
    ctl.write(encodeFrame(FrameType.Request, Buffer.from(body)));
    const inSock = connect(socketPath);
    inSock.write(encodeChannelHeader('stdin', token));
    inSock.on('error', () => { /* service gone or call refused: the exit code tells */ });
    inSock.resume(); // nothing comes this way; see its EOF when the service closes stdin
    const outSock = connect(socketPath);
    outSock.write(encodeChannelHeader('stdout', token));
    outSock.on('error', () => { /* treated as the end of stdout */ });
    outSock.once('close', () => { stdoutDone = true; settle(); });
    ctl.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.type === FrameType.Started && !started && code === undefined) { started = true; h.started(inSock, outSock); }
          else if (f.type === FrameType.Stderr) h.stderr(f.payload);
          else if (f.type === FrameType.Exit && code === undefined) {
            code = parseExit(f.payload);
            if (!started) { inSock.destroy(); outSock.destroy(); stdoutDone = true; } // ended before the service ran
            settle();
          }
          else throw new Error(`unexpected frame ${f.type} from the router`);
        }
      } catch (e) {
        fail((e as Error).message);
      }
    });
    h.signal?.addEventListener('abort', () => fail('the caller ended the call'), { once: true });
    ctl.on('error', (e) => fail(`cannot reach the router at ${socketPath}: ${e.message}`));
    ctl.on('close', () => fail('the router closed the call'));
  });
}

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
    // Until the service runs, PassThrough buffers stdin; after the call, writes are dropped.
    stdin.on('error', () => {});
    const abort = new AbortController();
    const exit = runSimCall(this.socketPath, req, {
      signal: abort.signal,
      started: (inSock, outSock) => {
        forward(stdin, inSock, { end: true });
        forward(outSock, stdout, { end: false });
      },
      stderr: (b) => stderr.write(b),
    }).then((code) => {
      stdout.end();
      stderr.end();
      if (stdin.listenerCount('data') === 0) { stdin.on('data', () => {}); stdin.resume(); }
      return code;
    });
    return { stdin, stdout, stderr, exit, kill: () => abort.abort() };
  }
}
