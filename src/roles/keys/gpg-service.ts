import type { ServiceHandler } from '../service.js';
import { QbuildError } from '../../errors.js';
import { stateDir } from '../../config.js';
import { FrameDecoder, HeaderReader, decodeCommand, encodeClose, encodeData, encodeExit } from '../../protocol/splitgpg/wire.js';
import { parseGpgArgs, requestSignForm, type GpgRequest } from '../../protocol/splitgpg/options.js';
import { failureStatus } from '../../protocol/splitgpg/status.js';
import { keysLog } from './keys-log.js';
import { msSinceStart } from '../../elapsed.js';
import { FdReader, FdWriter, type ChunkSink, type ChunkSource } from '../../util/fd-io.js';
import { loadGpgLimits } from './keys-config.js';
import { takeGpgSlot } from './gpg-slots.js';

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
class RequestInput {
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

/** Writes frames to the caller and ends with the exit frame. */
class ResponseOutput {
  constructor(private readonly stdout: ChunkSink, private readonly outputStreams: number) {}
  write(stream: number, data: Buffer | string): void {
    if (stream >= this.outputStreams) return;
    for (const f of encodeData(stream, typeof data === 'string' ? Buffer.from(data) : data)) this.stdout.write(f);
  }
  async finish(exit: number): Promise<void> {
    for (let i = 0; i < this.outputStreams; i++) this.stdout.write(encodeClose(i));
    await new Promise<void>((resolve) => this.stdout.write(encodeExit(exit), () => resolve()));
  }
}

/**
 * `qubes.Gpg` in the keys VM (DESIGN §5, §6). Order of checks: concurrency bound (at most
 * keys.maxConcurrentGpg requests at once) → wire header (within keys.idleSeconds) → option
 * allowlist (refusals here touch no key and no ticket) → caller and gate (the digest, in the
 * form the requested signature binds, in an unexpired ticket for the caller) → key lookup →
 * signing. List/export need no input and no gate: they only reveal public keys.
 */
export const handleGpg: ServiceHandler = async (ctx, io) => {
  // Milliseconds from process start to here: the server's start-up (reported in the log, for bench/sign).
  const startupMs = msSinceStart();
  const state = stateDir(io.env);
  const from = ctx.remoteDomain;
  const limits = loadGpgLimits(io.env);
  const sink: ChunkSink = io.fds ? new FdWriter(io.fds.stdout) : io.stdout;
  // Before any read of the caller's stream: a refused request leaves no read pending.
  const slot = takeGpgSlot(state, limits.maxConcurrentGpg);
  if (!slot.ok) {
    const message = `busy: ${slot.active} qubes.Gpg requests already in progress (keys.maxConcurrentGpg is ${limits.maxConcurrentGpg}); try again later`;
    keysLog(state, 'qubes.Gpg', from, 'refused', message);
    const out = new ResponseOutput(sink, 2);
    out.write(1, `qbuild: keys: ${message}\n`);
    await out.finish(1);
    return 1;
  }
  // Run by a qrexec stub: read and write the descriptors themselves (no net.Socket to build).
  const source: ChunkSource = io.fds ? new FdReader(io.fds.stdin) : io.stdin;
  const input = new RequestInput(source, limits.idleSeconds * 1000);
  let code: number;
  try {
    code = await answer({ from, state, input, source, sink, startupMs, env: io.env });
  } finally {
    slot.slot.release();
  }
  // A stalled caller leaves a read of its descriptor pending in libuv's thread pool, which
  // nothing can cancel and which process.exit() waits for (libuv joins its threads at exit).
  // The answer and exit frame are written (synchronously) and the place released: a signal
  // ends this per-call process, and the ~40 MB it holds, at once.
  if (input.timedOut && io.fds) process.kill(process.pid, 'SIGKILL');
  return code;
};

/** One qubes.Gpg call once it holds its place. */
interface Call {
  from: string;
  state: string;
  input: RequestInput;
  source: ChunkSource;
  sink: ChunkSink;
  startupMs: number;
  env: NodeJS.ProcessEnv;
}

async function answer({ from, state, input, source, sink, startupMs, env }: Call): Promise<number> {
  // The code a signature needs loads while the caller's bytes are on their way (one batch,
  // not one await each). Loading code reads no key and no ticket: the checks below still
  // come first.
  const keystore = import('./keystore.js');
  const signing = Promise.all([import('./keys-config.js'), import('./ticket-store.js'), import('./gate.js'), import('./gpg-actions.js')]);
  signing.catch(() => { /* awaited (and reported) only by requests that sign */ });
  const stop = () => { input.disarm(); source.pause(); source.destroy(); };

  // Before the command is known only stdout/stderr exist.
  let out = new ResponseOutput(sink, 2);
  const refuse = async (message: string, exit: number, status = '', req?: GpgRequest): Promise<number> => {
    keysLog(state, 'qubes.Gpg', from, 'refused', `${message}${req ? ` argv=${JSON.stringify(req.argv)}` : ''}`);
    if (req && req.statusFd !== undefined && status) out.write(req.outputFds.indexOf(req.statusFd), status);
    out.write(req?.loggerFd !== undefined ? req.outputFds.indexOf(req.loggerFd) : 1, `qbuild: keys: ${message}\n`);
    // A caller that stalled may not read either: the answer is offered, not awaited forever.
    await (input.timedOut ? Promise.race([out.finish(exit), new Promise((r) => setTimeout(r, input.idleMs).unref())]) : out.finish(exit));
    stop();
    return exit;
  };
  let headerBytes: Buffer | undefined;
  try {
    headerBytes = await input.readHeader();
  } catch (e) {
    return refuse((e as Error).message, 1);
  }
  if (!headerBytes) { stop(); return 0; } // client went away: nothing to answer

  let args: Buffer[];
  try {
    args = decodeCommand(headerBytes);
  } catch (e) {
    return refuse((e as Error).message, 1);
  }
  const parsed = parseGpgArgs(args, 'server');
  if (!parsed.ok) return refuse(`refused gpg arguments: ${parsed.message}`, 1);
  const req = parsed.request;
  out = new ResponseOutput(sink, req.outputFds.length);
  const statusIdx = req.statusFd !== undefined ? req.outputFds.indexOf(req.statusFd) : -1;
  const logIdx = req.loggerFd !== undefined ? req.outputFds.indexOf(req.loggerFd) : 1;
  const respond = async (o: { stdout: Buffer; status: string; log: string; exit: number }) => {
    if (o.stdout.length) out.write(0, o.stdout);
    if (statusIdx >= 0 && o.status) out.write(statusIdx, o.status);
    if (o.log) out.write(logIdx, o.log);
    await out.finish(o.exit);
    stop();
    return o.exit;
  };

  const { KeyStore } = await keystore;
  const keys = new KeyStore(state);
  if (req.action === 'list-keys' || req.action === 'list-secret-keys' || req.action === 'export') {
    const { listRequest, exportRequest } = await import('./gpg-actions.js');
    const o = req.action === 'export' ? exportRequest(keys, req) : listRequest(keys, req);
    keysLog(state, 'qubes.Gpg', from, req.action, `exit=${o.exit}`);
    return respond(o);
  }

  input.startFrames(req.inputFds.length);
  let streams: Buffer[] | undefined;
  try {
    streams = await input.readStreams();
  } catch (e) {
    return refuse((e as Error).message, 1, '', req);
  }
  if (!streams) { keysLog(state, 'qubes.Gpg', from, 'aborted', 'client closed its stream before the end of its input'); stop(); return 0; }
  const data = streams[0]!;

  if (req.action === 'verify') {
    const { verifyRequest } = await import('./verify.js');
    const o = await verifyRequest(keys, req, data, streams[1] ?? Buffer.alloc(0));
    keysLog(state, 'qubes.Gpg', from, 'verify', `exit=${o.exit}`);
    return respond(o);
  }

  const [{ loadKeysConfig }, { TicketStore }, { checkGate }, { pickKey, signRequest }] = await signing;
  const config = loadKeysConfig(env);
  const gate = checkGate(config, new TicketStore(state), from, requestSignForm(req), data);
  if (!gate.ok) return refuse(`refused to sign: ${gate.reason}`, 2, failureStatus('sign', 1), req);

  const picked = pickKey(keys, req, config.defaultKey);
  if ('outcome' in picked) {
    keysLog(state, 'qubes.Gpg', from, 'refused', `no such key ${JSON.stringify(req.localUsers)} form=${gate.form} sha256=${gate.sha256}`);
    return respond(picked.outcome);
  }
  const tSign = msSinceStart();
  const o = await signRequest(req, picked.key, data);
  const signMs = msSinceStart() - tSign;
  keysLog(state, 'qubes.Gpg', from, 'signed', `${req.action} key=${picked.key.fingerprint} form=${gate.form} sha256=${gate.sha256} via=${gate.how}${gate.grant ? ` label=${gate.grant.label} log=${gate.grant.logPath}` : ''} startup_ms=${startupMs.toFixed(2)} sign_ms=${signMs.toFixed(2)}`);
  return respond(o);
}
