import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Plan } from '../../plan/plan.js';
import { EXIT_NO_SERVICE, EXIT_PROBLEM, EXIT_REFUSED } from '../exit-codes.js';
import { checkArgument, checkServiceName, checkTarget } from '../names.js';
import { decide } from './decide.js';
import { CHANNEL_MAGIC, ChannelHeaderReader, type Channel } from './channel.js';
import { hasRoom } from './forward.js';
import { FrameDecoder, FrameType, encodeExit, encodeFrame, encodeStderr, parseRequest, type SimRequest } from './frames.js';
import { qubeEnv, simPaths } from './layout.js';
import { destroyDisposable, makeDisposable } from './disposable.js';
import { encodeSocketServiceHeader } from '../socket-service.js';

/**
 * The simulator's dom0: one socket per qube (the socket is the caller's identity), the
 * generated policy checked on every call, the target's rpc stub spawned as its own process
 * with the qrexec environment and the caller's data channels as its stdin/stdout; stderr and
 * the exit code carried back on the control connection (design §4, §9).
 */
export class Router {
  private readonly servers: Server[] = [];
  private readonly daemons = new Set<ChildProcess>();
  /** Calls between REQUEST and spawn, by token (hex). */
  private readonly pending = new Map<string, PendingCall>();
  /** Data channels waiting for their REQUEST, by token (hex). */
  private readonly early = new Map<string, EarlyChannels>();
  /** Tokens of calls that ended or started lately, and when: their late channels are refused at once. */
  private readonly ended = new Map<string, number>();
  private stopping = false;
  private readonly paths;
  /** Disposables serving a call now, by name. */
  private readonly disposables = new Set<string>();

  constructor(private readonly formula: string, private readonly plan: Plan, private readonly bin: string) {
    this.paths = simPaths(formula);
  }

  log(line: string): void {
    appendFileSync(this.paths.routerLog, `${new Date().toISOString()} ${line}\n`);
  }

  async listen(): Promise<void> {
    for (const vm of this.plan.vms) {
      const sock = this.paths.qube(vm.name).socket;
      rmSync(sock, { force: true });
      const server = createServer({ pauseOnConnect: true }, (s) => this.onConnection(vm.name, s));
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(sock, resolve); });
      this.servers.push(server);
    }
  }

  /** Starts each planned daemon in its qube and restarts it if it dies, as systemd would. */
  startDaemons(): void {
    for (const vm of this.plan.vms) for (const argv of vm.daemons) this.startDaemon(vm.name, argv);
  }

  private startDaemon(vm: string, argv: string[], delay = 500): void {
    if (this.stopping) return;
    const started = Date.now();
    const q = this.paths.qube(vm);
    const out = openSync(q.log, 'a');
    const child = spawn(this.bin, argv, { cwd: q.home, env: qubeEnv(this.formula, vm, this.bin), stdio: ['ignore', out, out] });
    this.daemons.add(child);
    writeFileSync(this.paths.daemonPid(vm, argv), `${child.pid}\n`);
    this.log(`daemon ${vm}: started ${argv.join(' ')} (pid ${child.pid})`);
    child.on('exit', (code, signal) => {
      this.daemons.delete(child);
      this.log(`daemon ${vm}: ${argv.join(' ')} exited (${signal ?? code})`);
      // Back off while it keeps failing at once (a broken config should not spin the CPU).
      const next = Date.now() - started > 10_000 ? 500 : Math.min(delay * 2, 30_000);
      if (!this.stopping) setTimeout(() => this.startDaemon(vm, argv, next), delay).unref();
    });
  }

  /** Destroys a disposable (its processes killed, its directory removed), once. */
  private destroy(name: string): void {
    if (!this.disposables.delete(name)) return;
    destroyDisposable(this.formula, name);
    this.log(`disposable ${name} destroyed`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const d of [...this.disposables]) this.destroy(d);
    for (const token of [...this.early.keys()]) this.expireEarly(token);
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    const exits = [...this.daemons].map((d) => new Promise<void>((r) => {
      const t = setTimeout(() => d.kill('SIGKILL'), 3000);
      d.once('exit', () => { clearTimeout(t); r(); });
      d.kill('SIGTERM');
    }));
    await Promise.all(exits);
    for (const vm of this.plan.vms) rmSync(this.paths.qube(vm.name).socket, { force: true });
  }

  /** A connection to a qube's socket: a call's control connection, or one of its data channels. */
  private onConnection(source: string, sock: Socket): void {
    sock.on('error', () => { /* caller vanished: handled on close */ });
    sock.once('data', (first: Buffer) => {
      if (first[0] === CHANNEL_MAGIC) this.onDataChannel(source, sock, first);
      else this.onCall(source, sock, first);
    });
    sock.resume(); // the server pauses new connections: nothing is read before this
  }

  private onCall(source: string, sock: Socket, first: Buffer): void {
    const decoder = new FrameDecoder();
    let requested = false;
    let done = false;
    let token: string | undefined;
    let disposable: string | undefined;
    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      if (token) { this.dropPending(token); this.endToken(token); }
      // A call that ends, however, takes its disposable with it.
      if (disposable) this.destroy(disposable);
      if (message) sock.write(encodeFrame(FrameType.Stderr, Buffer.from(message)));
      sock.end(encodeExit(code));
    };
    sock.on('close', () => {
      // Gone before its service started: its disposable goes too (a started one ends with its service).
      if (!done && token && this.pending.has(token) && disposable) this.destroy(disposable);
      done = true;
      if (token) this.dropPending(token);
    });
    const onData = (chunk: Buffer) => {
      let frames;
      try { frames = decoder.push(chunk); } catch (e) { return finish(EXIT_PROBLEM, `qrexec: ${(e as Error).message}\n`); }
      for (const f of frames) {
        if (f.type !== FrameType.Request || requested) return finish(EXIT_PROBLEM, 'qrexec: unexpected frame from caller\n');
        requested = true;
        let req: SimRequest;
        try { req = parseRequest(f.payload); } catch (e) { return finish(EXIT_PROBLEM, `qrexec: bad request: ${(e as Error).message}\n`); }
        // One call per token: a live one or one that ended lately (its late channels are refused).
        if (this.pending.has(req.token) || this.ended.has(req.token)) return finish(EXIT_PROBLEM, 'qrexec: token already in use\n');
        token = req.token;
        const call: PendingCall = { source, channels: {}, spawn: (c, stdin, stdout) => this.spawnService(c, stdin, stdout, sock, finish), fail: finish };
        this.pending.set(token, call);
        this.adoptEarly(token, call);
        const allowed = this.decideCall(source, req, finish);
        disposable = allowed?.disposable;
        if (!allowed || done) { if (disposable) this.destroy(disposable); return; }
        call.allowed = allowed;
        this.trySpawn(token, call);
      }
    };
    sock.on('data', onData);
    onData(first);
  }

  /**
   * A data channel: its header names the call's token (chosen by the caller, sent in its
   * REQUEST) and the stream. Rules: a token is good only on the socket of the qube whose
   * REQUEST names it, for one stdin and one stdout channel; a channel whose REQUEST has not
   * been read yet waits at most EARLY_MS (at most MAX_EARLY per qube socket); a byte sent
   * before STARTED fails the call. Once the call is allowed and both channels are here, the
   * service is spawned with them as its stdin and stdout.
   */
  private onDataChannel(source: string, sock: Socket, first: Buffer): void {
    const reader = new ChannelHeaderReader();
    let token: string | undefined;
    const reject = (why: string) => {
      this.log(`data channel on ${source}'s socket refused: ${why}`);
      sock.destroy();
    };
    const onData = (chunk: Buffer) => {
      if (token !== undefined) return this.channelSentEarly(token, source, sock);
      const extra = chunk.length > reader.missing;
      let h;
      try { h = reader.push(chunk.subarray(0, reader.missing)); } catch (e) { return reject((e as Error).message); }
      if (!h) return;
      if (extra) {
        reject('bytes before the service started');
        const c = this.pending.get(h.token);
        if (c && c.source === source) c.fail(EXIT_PROBLEM, 'qrexec: data channel sent bytes before the service started\n');
        return;
      }
      if (this.ended.has(h.token)) return reject('token of a call that already started or ended');
      const c = this.pending.get(h.token);
      const waiting = c ?? this.early.get(h.token);
      if (waiting && waiting.source !== source) return reject('token of a call from another qube');
      if (waiting?.channels[h.channel]) return reject(`second ${h.channel} channel`);
      if (!waiting && [...this.early.values()].filter((e) => e.source === source).length >= MAX_EARLY) return reject('too many data channels waiting for their call');
      token = h.token;
      const t = h.token;
      const ch = h.channel;
      sock.once('close', () => this.channelClosed(t, ch, sock));
      if (c) {
        c.channels[ch] = sock;
        this.trySpawn(t, c);
        return;
      }
      let e = this.early.get(t);
      if (!e) {
        e = { source, channels: {}, timer: setTimeout(() => this.expireEarly(t), EARLY_MS) };
        e.timer.unref();
        this.early.set(t, e);
      }
      e.channels[ch] = sock;
    };
    // Still listening after the header: a byte before STARTED fails the call.
    sock.on('data', onData);
    onData(first);
  }

  /** The REQUEST for `token` arrived: channels that came first join its call. */
  private adoptEarly(token: string, call: PendingCall): void {
    const e = this.early.get(token);
    if (!e) return;
    clearTimeout(e.timer);
    this.early.delete(token);
    if (e.source === call.source) {
      call.channels = e.channels;
      return;
    }
    this.log(`data channel on ${e.source}'s socket refused: token of a call from ${call.source}`);
    e.channels.stdin?.destroy();
    e.channels.stdout?.destroy();
  }

  private expireEarly(token: string): void {
    const e = this.early.get(token);
    if (!e) return;
    this.early.delete(token);
    this.log(`data channel on ${e.source}'s socket refused: no call named its token within ${EARLY_MS} ms`);
    e.channels.stdin?.destroy();
    e.channels.stdout?.destroy();
  }

  /** Spawns once policy allowed the call and both of its channels are here. */
  private trySpawn(token: string, call: PendingCall): void {
    const { stdin, stdout } = call.channels;
    if (!call.allowed || !stdin || !stdout || this.pending.get(token) !== call) return;
    this.pending.delete(token);
    this.endToken(token);
    call.spawn(call.allowed, stdin, stdout);
  }

  /** A channel closed before its service started: the call fails; a waiting channel is dropped. */
  private channelClosed(token: string, ch: Channel, sock: Socket): void {
    const c = this.pending.get(token);
    if (c && c.channels[ch] === sock) return c.fail(EXIT_PROBLEM, 'qrexec: data channel closed before the service started\n');
    const e = this.early.get(token);
    if (e && e.channels[ch] === sock) {
      delete e.channels[ch];
      if (!e.channels.stdin && !e.channels.stdout) { clearTimeout(e.timer); this.early.delete(token); }
    }
  }

  /** A data channel sent bytes before STARTED: its call fails (or, still waiting, it is dropped). */
  private channelSentEarly(token: string, source: string, sock: Socket): void {
    const c = this.pending.get(token);
    if (c && c.source === source) return c.fail(EXIT_PROBLEM, 'qrexec: data channel sent bytes before the service started\n');
    this.log(`data channel on ${source}'s socket refused: bytes before the service started`);
    sock.destroy();
  }

  /** Remembers a used token for EARLY_MS (as long as a late channel could wait for it). */
  private endToken(token: string): void {
    const now = Date.now();
    for (const [t, at] of this.ended) {
      if (now - at < EARLY_MS) break; // insertion order: the rest are newer
      this.ended.delete(t);
    }
    this.ended.delete(token);
    this.ended.set(token, now);
  }

  private dropPending(token: string): void {
    const c = this.pending.get(token);
    if (!c) return;
    this.pending.delete(token);
    c.channels.stdin?.destroy();
    c.channels.stdout?.destroy();
  }

  /** Checks names and policy and finds the stub. Undefined when the call ended here. */
  private decideCall(source: string, req: SimRequest, finish: (code: number, msg?: string) => void): AllowedCall | undefined {
    const full = req.argument === undefined ? req.service : `${req.service}+${req.argument}`;
    try {
      checkServiceName(req.service);
      if (req.argument !== undefined) checkArgument(req.argument);
      if (req.target !== 'dom0') checkTarget(req.target);
    } catch (e) {
      this.log(`refuse ${source} -> ${req.target} ${full}: ${(e as Error).message}`);
      finish(EXIT_REFUSED, 'Request refused\n');
      return undefined;
    }
    const decision = decide(this.formula, source, req, this.plan.vms);
    if (decision.action !== 'allow') {
      this.log(`deny ${source} -> ${req.target} ${full}: ${decision.reason}`);
      finish(EXIT_REFUSED, 'Request refused\n');
      return undefined;
    }
    const target = decision.target;
    // `@dispvm:T`: a fresh disposable from T's files serves this one call (sim/disposable.ts).
    let disposable: string | undefined;
    if (target.startsWith('@dispvm:')) {
      const template = this.plan.vms.find((v) => v.name === target.slice(8) && v.templateForDispvms);
      try {
        if (!template) throw new Error('not a planned template for disposables');
        disposable = makeDisposable(this.formula, template);
      } catch (e) {
        this.log(`fail ${source} -> ${target} ${full}: cannot start a disposable: ${(e as Error).message}`);
        finish(EXIT_PROBLEM, `qrexec: cannot start a disposable of ${target.slice(8)}\n`);
        return undefined;
      }
      this.disposables.add(disposable);
    }
    const dropDisposable = () => { if (disposable) this.destroy(disposable); };
    const q = this.paths.qube(disposable ?? target);
    if (!disposable && existsSync(q.halted)) {
      this.log(`fail ${source} -> ${target} ${full}: qube is halted`);
      finish(EXIT_PROBLEM, `qrexec: qube ${target} is halted and could not be started\n`);
      return undefined;
    }
    // qrexec looks for `service+argument` first, then `service` (lstat: a dangling symlink counts).
    const stub = [join(q.rpc, full), join(q.rpc, req.service)].find((p) => lexists(p));
    if (!stub || (!disposable && !this.plan.vms.some((v) => v.name === target))) {
      dropDisposable();
      this.log(`fail ${source} -> ${target} ${full}: no such service`);
      finish(EXIT_NO_SERVICE, `qrexec: service ${req.service} does not exist in ${target}\n`);
      return undefined;
    }
    // A socket (or a symlink to one) is a socket-based service; a symlink to nothing is
    // qrexec's "error finding service" (125), as for a daemon that never bound its socket.
    let socket: boolean;
    try {
      socket = statSync(stub).isSocket();
    } catch {
      dropDisposable();
      this.log(`fail ${source} -> ${target} ${full}: ${stub} points to nothing`);
      finish(EXIT_PROBLEM, `qrexec: cannot open service ${req.service} in ${target}\n`);
      return undefined;
    }
    this.log(`allow ${source} -> ${target} ${full}${target !== req.target ? ` (asked ${req.target})` : ''}${socket ? ' (socket service)' : ''}${disposable ? ` (disposable ${disposable})` : ''}`);
    return { source, target, full, stub, req, socket, ...(disposable ? { disposable } : {}) };
  }

  /**
   * Spawns the stub with the data channels as its stdin and stdout (the child gets its own
   * copies of the sockets), then closes the router's copies without shutting the connections
   * down: from here on the bytes go caller ⇄ service. stderr and the exit code come back here.
   */
  private spawnService(c: AllowedCall, stdin: Socket, stdout: Socket, sock: Socket, finish: (code: number, msg?: string) => void): void {
    if (c.socket) return this.connectService(c, stdin, stdout, sock, finish);
    const vm = c.disposable ?? c.target;
    const q = this.paths.qube(vm);
    const env: NodeJS.ProcessEnv = {
      ...qubeEnv(this.formula, vm, this.bin),
      QREXEC_REMOTE_DOMAIN: c.source,
      QREXEC_SERVICE_FULL_NAME: c.full,
      QREXEC_REQUESTED_TARGET: c.req.target,
      ...(c.req.argument !== undefined ? { QREXEC_SERVICE_ARGUMENT: c.req.argument } : {}),
    };
    let child: ChildProcess;
    try {
      child = spawn(c.stub, c.req.argument !== undefined ? [c.req.argument] : [], { cwd: q.home, env, stdio: [stdin, stdout, 'pipe'] });
    } catch (e) {
      if (c.disposable) this.destroy(c.disposable);
      return finish(EXIT_PROBLEM, `qrexec: cannot start ${c.stub}: ${(e as Error).message}\n`);
    } finally {
      for (const s of [stdin, stdout]) { s.removeAllListeners('data'); s.removeAllListeners('close'); s.destroy(); }
    }
    if (c.disposable) {
      // A disposable lives as long as its call: the caller gone, the service is told to stop
      // (it ends its recipe), and the qube is destroyed once the service exits (or at once after 2 s).
      const name = c.disposable;
      sock.once('close', () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        setTimeout(() => this.destroy(name), 2000).unref();
      });
      child.once('close', () => this.destroy(name));
    }
    sock.write(encodeFrame(FrameType.Started));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (sock.destroyed) return;
      for (const f of encodeStderr(chunk)) sock.write(f);
      if (!hasRoom(sock)) { child.stderr!.pause(); sock.once('drain', () => child.stderr!.resume()); }
    });
    child.on('error', (e) => finish(EXIT_PROBLEM, `qrexec: cannot start ${c.stub}: ${e.message}\n`));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + signalNumber(signal) : EXIT_PROBLEM)));
  }

  /**
   * A socket-based service, as qrexec-agent runs one (qubes-core-qrexec `find_qrexec_service`,
   * `process_io.c`): connect to the socket, write the descriptor `SERVICE+ARG SOURCE\0`, then
   * relay: the caller's stdin into the socket (its EOF shuts the socket down for writing), the
   * socket's bytes to the caller's stdout. There is no stderr, and the exit code is 0 once the
   * service closed its side; a socket nobody listens on fails the call with 125. Unlike a
   * process service the router carries these bytes (the agent does, in a real qube).
   */
  private connectService(c: AllowedCall, stdin: Socket, stdout: Socket, sock: Socket, finish: (code: number, msg?: string) => void): void {
    for (const s of [stdin, stdout]) { s.removeAllListeners('data'); s.removeAllListeners('close'); s.on('error', () => { /* caller vanished */ }); }
    const svc = connect(c.stub);
    let connected = false;
    const drop = () => { stdin.destroy(); stdout.destroy(); svc.destroy(); };
    svc.on('error', (e) => {
      if (connected) return; // 'close' follows
      this.log(`fail ${c.source} -> ${c.target} ${c.full}: socket service: ${e.message}`);
      drop();
      finish(EXIT_PROBLEM, `qrexec: cannot connect to service ${c.req.service} in ${c.target}\n`);
    });
    svc.once('connect', () => {
      connected = true;
      svc.write(encodeSocketServiceHeader({ service: c.req.service, argument: c.req.argument, source: c.source }));
      sock.write(encodeFrame(FrameType.Started));
      stdin.pipe(svc, { end: true }); // svc.end() = shutdown(SHUT_WR) at the caller's EOF
      svc.pipe(stdout, { end: true });
    });
    svc.once('close', () => {
      if (!connected) return;
      stdin.destroy();
      stdout.once('finish', () => stdout.destroy());
      finish(0);
    });
    // The caller gone (its control connection closed): the service's connection is closed too.
    sock.once('close', drop);
  }
}

function lexists(path: string): boolean {
  try { lstatSync(path); return true; } catch { return false; }
}

interface AllowedCall {
  source: string; target: string; full: string; stub: string; req: SimRequest; socket: boolean;
  /** The disposable serving a `@dispvm:T` call. */
  disposable?: string;
}

/** A call between its REQUEST and the spawn of its service. */
interface PendingCall {
  source: string;
  channels: Channels;
  /** Set once policy allowed the call. */
  allowed?: AllowedCall;
  spawn(c: AllowedCall, stdin: Socket, stdout: Socket): void;
  fail(code: number, msg?: string): void;
}

interface Channels { stdin?: Socket; stdout?: Socket }

/** Data channels that arrived before the REQUEST naming their token. */
interface EarlyChannels { source: string; channels: Channels; timer: NodeJS.Timeout }

/** How long data channels wait for the REQUEST that names their token. */
const EARLY_MS = 2000;
/** At most this many tokens wait per qube socket (a caller cannot hold the router's sockets). */
const MAX_EARLY = 32;

function signalNumber(signal: NodeJS.Signals): number {
  const n = osConstants.signals[signal];
  return typeof n === 'number' ? n : 0;
}
