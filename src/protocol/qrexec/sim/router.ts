import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { Plan } from '../../../roles/dom0/plan.js';
import { EXIT_NO_SERVICE, EXIT_PROBLEM, EXIT_REFUSED } from '../exit-codes.js';
import { checkArgument, checkServiceName, checkTarget } from '../names.js';
import { decide } from './decide.js';
import { FrameDecoder, FrameType, encodeExit, encodeFrame, hasRoom, parseRequest, writeData, type SimRequest } from './frames.js';
import { qubeEnv, simPaths } from './layout.js';

/**
 * The simulator's dom0: one socket per qube (the socket is the caller's identity), the
 * generated policy checked on every call, the target's rpc stub spawned as its own process
 * with the qrexec environment, stdio and exit code carried back (DESIGN §4, §9).
 */
export class Router {
  private readonly servers: Server[] = [];
  private readonly daemons = new Set<ChildProcess>();
  private stopping = false;
  private readonly paths;

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
      const server = createServer((s) => this.onCall(vm.name, s));
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
    writeFileSync(join(this.paths.root, `daemon-${vm}-${argv.join('_').replace(/[^A-Za-z0-9_.-]/g, '')}.pid`), `${child.pid}\n`);
    this.log(`daemon ${vm}: started ${argv.join(' ')} (pid ${child.pid})`);
    child.on('exit', (code, signal) => {
      this.daemons.delete(child);
      this.log(`daemon ${vm}: ${argv.join(' ')} exited (${signal ?? code})`);
      // Back off while it keeps failing at once (a broken config should not spin the CPU).
      const next = Date.now() - started > 10_000 ? 500 : Math.min(delay * 2, 30_000);
      if (!this.stopping) setTimeout(() => this.startDaemon(vm, argv, next), delay).unref();
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    const exits = [...this.daemons].map((d) => new Promise<void>((r) => {
      const t = setTimeout(() => d.kill('SIGKILL'), 3000);
      d.once('exit', () => { clearTimeout(t); r(); });
      d.kill('SIGTERM');
    }));
    await Promise.all(exits);
    for (const vm of this.plan.vms) rmSync(this.paths.qube(vm.name).socket, { force: true });
  }

  private onCall(source: string, sock: Socket): void {
    const decoder = new FrameDecoder();
    let child: ChildProcess | undefined;
    let pending: Buffer[] = [];
    let stdinEof = false;
    let started = false;
    let done = false;
    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      if (message) sock.write(encodeFrame(FrameType.Stderr, Buffer.from(message)));
      sock.end(encodeExit(code));
      sock.resume(); // paused for a service that stopped reading: still read to EOF and close
    };
    sock.on('error', () => { /* caller vanished: the service sees EOF on stdin */ });
    sock.on('close', () => { if (child?.stdin && !child.stdin.destroyed) child.stdin.end(); });
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try { frames = decoder.push(chunk); } catch (e) { return finish(EXIT_PROBLEM, `qrexec: ${(e as Error).message}\n`); }
      let full = false;
      for (const f of frames) {
        if (f.type === FrameType.Request && !started && !done) {
          started = true;
          let req: SimRequest;
          try { req = parseRequest(f.payload); } catch (e) { return finish(EXIT_PROBLEM, `qrexec: bad request: ${(e as Error).message}\n`); }
          void this.start(source, req, sock, finish).then((c) => {
            child = c;
            if (child?.stdin) {
              for (const p of pending) child.stdin.write(p);
              if (stdinEof || sock.destroyed) child.stdin.end();
            }
            pending = [];
          });
        } else if (f.type === FrameType.Stdin) {
          // Pieces are views of the socket's read buffer, which Node never reuses: no copy.
          if (child?.stdin) { child.stdin.write(f.payload); full = !hasRoom(child.stdin); }
          else if (!done) pending.push(f.payload); // policy still deciding
        } else if (f.type === FrameType.StdinEof) {
          stdinEof = true;
          child?.stdin?.end();
        } else {
          return finish(EXIT_PROBLEM, 'qrexec: unexpected frame from caller\n');
        }
      }
      // Pause the caller only once a good amount is queued for the service, and resume on
      // 'drain', not per frame: each pause/resume costs the relay a round of syscalls.
      if (full && child?.stdin && !child.stdin.destroyed) { sock.pause(); child.stdin.once('drain', () => sock.resume()); }
    });
  }

  /** Checks names and policy, then spawns the target's stub. Undefined when the call ended here. */
  private async start(source: string, req: SimRequest, sock: Socket, finish: (code: number, msg?: string) => void): Promise<ChildProcess | undefined> {
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
    const decision = await decide(this.formula, source, req, this.plan.vms.map((v) => v.name));
    if (decision.action !== 'allow') {
      this.log(`deny ${source} -> ${req.target} ${full}: ${decision.reason}`);
      finish(EXIT_REFUSED, 'Request refused\n');
      return undefined;
    }
    const target = decision.target;
    const q = this.paths.qube(target);
    if (existsSync(q.halted)) {
      this.log(`fail ${source} -> ${target} ${full}: qube is halted`);
      finish(EXIT_PROBLEM, `qrexec: qube ${target} is halted and could not be started\n`);
      return undefined;
    }
    // qrexec looks for `service+argument` first, then `service`.
    const stub = [join(q.rpc, full), join(q.rpc, req.service)].find((p) => existsSync(p));
    if (!stub || !this.plan.vms.some((v) => v.name === target)) {
      this.log(`fail ${source} -> ${target} ${full}: no such service`);
      finish(EXIT_NO_SERVICE, `qrexec: service ${req.service} does not exist in ${target}\n`);
      return undefined;
    }
    this.log(`allow ${source} -> ${target} ${full}${target !== req.target ? ` (asked ${req.target})` : ''}`);
    const env: NodeJS.ProcessEnv = {
      ...qubeEnv(this.formula, target, this.bin),
      QREXEC_REMOTE_DOMAIN: source,
      QREXEC_SERVICE_FULL_NAME: full,
      QREXEC_REQUESTED_TARGET: req.target,
      ...(req.argument !== undefined ? { QREXEC_SERVICE_ARGUMENT: req.argument } : {}),
    };
    const child = spawn(stub, req.argument !== undefined ? [req.argument] : [], { cwd: q.home, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.on('error', () => { /* service stopped reading: its exit code tells */ });
    const pump = (from: NodeJS.ReadableStream & { pause(): void; resume(): void }, type: FrameType) => {
      from.on('data', (chunk: Buffer) => {
        if (sock.destroyed) return;
        if (!writeData(sock, type, chunk)) { from.pause(); sock.once('drain', () => from.resume()); }
      });
    };
    pump(child.stdout!, FrameType.Stdout);
    pump(child.stderr!, FrameType.Stderr);
    child.on('error', (e) => finish(EXIT_PROBLEM, `qrexec: cannot start ${stub}: ${e.message}\n`));
    child.on('close', (code, signal) => finish(code ?? (signal ? 128 + signalNumber(signal) : EXIT_PROBLEM)));
    return child;
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const n = osConstants.signals[signal];
  return typeof n === 'number' ? n : 0;
}
