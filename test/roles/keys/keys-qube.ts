import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbuildBin } from '../../helpers/binary.js';
import { startSim, type SimHandle, type StartSimOptions } from '../../helpers/sim.js';
import { run, type RunResult } from '../../helpers/run.js';
import { FrameDecoder, encodeClose, encodeCommand, encodeData } from '../../../src/protocol/splitgpg/wire.js';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signTicket, type Ticket } from '../../../src/protocol/ticket/ticket.js';
import { fixture } from '../../helpers/gpg.js';
import { formDigest, type SignForm } from '../../../src/protocol/signform.js';
import { splitInBandExit } from '../../../src/protocol/qrexec/socket-service.js';

/**
 * How the keys services are reached: `process` (a `qbuild rpc SERVICE` per call, as the stub
 * runs it) or `socket` (the resident `qbuild role keys --serve`, reached as qrexec-agent reaches
 * a socket service: connect, header `SERVICE+ARG SOURCE\0`, then stdin/stdout on the socket).
 * `QBUILD_TEST_KEYS_SERVICE=socket npx vitest run test/roles/keys` runs the suite the second way.
 */
export const KEYS_SERVICE: 'process' | 'socket' = process.env.QBUILD_TEST_KEYS_SERVICE === 'socket' ? 'socket' : 'process';

/**
 * One open call to a keys service, either way: write, end, kill (the caller dies), and what came
 * back. `code` is the process's exit code, or for a socket call what qrexec reports for one: 0.
 */
export interface OpenCall {
  write(b: Buffer): void;
  end(b?: Buffer): void;
  kill(): void;
  onData(f: (b: Buffer) => void): void;
  done: Promise<{ code: number; stderr: string }>;
}

/**
 * LogReceived's answer as its caller reads it: a process's exit code and stderr, or over the
 * socket (exit always 0, no stderr) the daemon's in-band trailer (`stderr: …` lines, `exit N`).
 */
export function logReceivedAnswer(r: RunResult, mode = KEYS_SERVICE): RunResult {
  if (mode === 'process' || r.code !== 0) return r;
  const inBand = splitInBandExit(r.stdout.toString('utf8'));
  if (!inBand) return { code: 125, stdout: r.stdout, stderr: 'no in-band exit line from the keys daemon\n' };
  return { code: inBand.code, stdout: Buffer.from(inBand.stdout), stderr: inBand.stderr };
}

/**
 * startSim for the keys tests, in KEYS_SERVICE mode (startSim itself provisions
 * `keys-service: socket` and starts the keys daemons in socket mode); LogReceived results are
 * read as its caller reads them (the in-band exit over a socket).
 */
export async function startKeysSim(o: StartSimOptions = {}): Promise<SimHandle> {
  const sim = await startSim(o);
  if (KEYS_SERVICE === 'process') return sim;
  const call = sim.call.bind(sim);
  sim.call = async (from, target, service, opts) => {
    const r = await call(from, target, service, opts);
    return service.startsWith('qubesbuilder.LogReceived') ? logReceivedAnswer(r) : r;
  };
  return sim;
}

/** Bytes a ticket lists: as a binary digest, or in the form a text signature binds. */
export type TicketItem = Buffer | { form: SignForm; data: Buffer };

export interface RawReply { exit: number | undefined; streams: Buffer[]; processCode: number; processStderr: string }

/**
 * A keys qube without the simulator: its config and state dir, and qrexec services run as
 * `qbuild rpc SERVICE` with the qrexec environment set by hand (QREXEC_REMOTE_DOMAIN is
 * whatever the test says, which the sim would never allow: it tests the keys VM's own checks).
 */
export class KeysQube {
  readonly dir = mkdtempSync(join(tmpdir(), 'qb-keysvm-'));
  readonly state = join(this.dir, 'state');
  readonly config = join(this.dir, 'qbuild.json');
  readonly note = generateNoteKey('qbuild-logs/logs');

  constructor(gate: 'ticket' | 'window' = 'ticket', logsPublicKey: string | null = null, keysExtra: Record<string, unknown> = {}) {
    mkdirSync(this.state);
    writeFileSync(this.config, JSON.stringify({
      vm: 'keys-fedora', role: 'keys', env: 'fedora',
      // The gate tests sign v1 tickets (no ledger): the ledger checks have their own tests (ticket-v2*).
      keys: { buildVm: 'build-fedora', logsVm: 'logs', gate, logsPublicKey: logsPublicKey ?? this.note.verifierKey, acceptV1Tickets: true, ...keysExtra },
    }));
  }

  /** How this qube's services are reached (default: KEYS_SERVICE). */
  mode: 'process' | 'socket' = KEYS_SERVICE;
  private daemon: ChildProcess | undefined;
  private daemonLog = '';

  /** The resident daemon (socket mode), started on first use; both sockets bound. */
  async ensureDaemon(): Promise<void> {
    if (this.daemon && this.daemon.exitCode === null) return;
    const child = spawn(qbuildBin(), ['role', 'keys', '--serve'], { env: this.env(), stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (c: Buffer) => { this.daemonLog += c.toString(); });
    this.daemon = child;
    for (let i = 0; i < 400; i++) {
      if (['qubes.Gpg', 'qubesbuilder.LogReceived'].every((s) => existsSync(join(this.state, 'rpc', s)))) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`keys daemon did not start: ${this.daemonLog}`);
  }

  /** What the daemon logged (socket mode). */
  daemonOutput(): string { return this.daemonLog; }
  daemonPid(): number | undefined { return this.daemon?.pid; }

  /** One call to SERVICE from `from`, by a process or over the daemon's socket (KEYS_SERVICE). */
  async open(service: 'qubes.Gpg' | 'qubesbuilder.LogReceived', from: string, arg?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<OpenCall> {
    const full = arg === undefined ? service : `${service}+${arg}`;
    if (this.mode === 'process') {
      const child = spawn(qbuildBin(), ['rpc', service, ...(arg !== undefined ? [arg] : [])], {
        env: this.env({ QREXEC_REMOTE_DOMAIN: from, QREXEC_SERVICE_FULL_NAME: full, ...extraEnv }), stdio: ['pipe', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      child.stdin.on('error', () => {});
      return {
        write: (b) => { child.stdin.write(b); },
        end: (b) => { child.stdin.end(b); },
        kill: () => { child.kill('SIGKILL'); },
        onData: (f) => { child.stdout.on('data', f); },
        done: new Promise((resolve, reject) => {
          child.on('error', reject);
          child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr: err }));
        }),
      };
    }
    await this.ensureDaemon();
    const sock = connect(join(this.state, 'rpc', service));
    sock.on('error', () => {});
    sock.write(`${service}+${arg ?? ''} ${from}\0`);
    return {
      write: (b) => { sock.write(b); },
      end: (b) => { if (b) sock.end(b); else sock.end(); },
      kill: () => { sock.destroy(); },
      onData: (f) => { sock.on('data', f); },
      // qrexec reports 0 for a socket service, and it has no stderr.
      done: new Promise((resolve) => sock.on('close', () => resolve({ code: 0, stderr: '' }))),
    };
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: this.dir, QBUILD_CONFIG: this.config, QBUILD_STATE: this.state, ...extra };
  }

  async importKey(name: string): Promise<RunResult> {
    return run(qbuildBin(), ['role', 'keys', 'import', '-'], { env: this.env(), stdin: fixture(name) });
  }

  ticket(data: TicketItem[], o: { vm?: string; expiresInMs?: number; signer?: string } = {}): string {
    const now = Date.now();
    const t: Ticket = {
      buildVm: o.vm ?? 'build-fedora', logPath: 'build-fedora/log_2026-11-26_00-00-00', logSha256: 'b'.repeat(64),
      issued: new Date(now - 1000), expires: new Date(now + (o.expiresInMs ?? 3600_000)),
      digests: data.map((d, i) => {
        const { form, data: bytes } = Buffer.isBuffer(d) ? { form: 'binary' as const, data: d } : d;
        return { form, sha256: formDigest(form, bytes), label: `item-${i}` };
      }),
    };
    return signTicket(t, parseSignerKey(o.signer ?? this.note.signerKey));
  }

  /**
   * LogReceived from `from`. Over the socket, qrexec carries no exit code or stderr: the daemon
   * writes them in-band as its last stdout line (`exit N`, after the stderr text), read back here.
   */
  async logReceived(stdin: string | Buffer, o: { from?: string; arg?: string } = {}): Promise<RunResult> {
    const call = await this.open('qubesbuilder.LogReceived', o.from ?? 'logs', o.arg ?? 'build-fedora');
    const out: Buffer[] = [];
    call.onData((b) => out.push(b));
    call.end(typeof stdin === 'string' ? Buffer.from(stdin) : stdin);
    const r = await call.done;
    return logReceivedAnswer({ code: r.code, stdout: Buffer.concat(out), stderr: r.stderr }, this.mode);
  }

  /** Speaks the wire protocol to qubes.Gpg (KEYS_SERVICE: a process or the daemon's socket): header, stdin frames, close. */
  async gpg(args: string[] | Buffer, data: Buffer | undefined, o: { from?: string; inputStreams?: Buffer[] } = {}): Promise<RawReply> {
    const call = await this.open('qubes.Gpg', o.from ?? 'build-fedora');
    const decoder = new FrameDecoder(16);
    const streams: Buffer[] = [];
    let exit: number | undefined;
    call.onData((c: Buffer) => {
      for (const f of decoder.push(c)) {
        if (f.kind === 'exit') { exit = f.code; call.end(); }
        else if (f.kind === 'data') streams[f.stream] = Buffer.concat([streams[f.stream] ?? Buffer.alloc(0), f.data]);
      }
    });
    call.write(Buffer.isBuffer(args) ? args : encodeCommand(args));
    const inputs = o.inputStreams ?? (data ? [data] : []);
    inputs.forEach((d, i) => { for (const f of encodeData(i, d)) call.write(f); call.write(encodeClose(i)); });
    // The stream stays open until the exit frame (as qbuild sign does).
    const r = await call.done;
    return { exit, streams, processCode: r.code, processStderr: r.stderr };
  }

  /**
   * Opens qubes.Gpg, writes `input` as raw bytes and keeps the stream open (never EOF: a
   * stalled caller); resolves when the service ends the call, with what came back. A call
   * still open after `deadlineMs` is killed and reported as such.
   */
  async gpgRaw(input: Buffer, deadlineMs = 20_000): Promise<RawReply & { killed: boolean; ms: number }> {
    const t0 = Date.now();
    const call = await this.open('qubes.Gpg', 'build-fedora');
    const out: Buffer[] = [];
    let killed = false;
    const timer = setTimeout(() => { killed = true; call.kill(); }, deadlineMs);
    call.onData((c: Buffer) => out.push(c));
    call.write(input);
    const r = await call.done;
    clearTimeout(timer);
    const streams: Buffer[] = [];
    let exit: number | undefined;
    for (const f of new FrameDecoder(16).push(Buffer.concat(out))) {
      if (f.kind === 'exit') exit = f.code;
      else if (f.kind === 'data') streams[f.stream] = Buffer.concat([streams[f.stream] ?? Buffer.alloc(0), f.data]);
    }
    call.kill();
    return { exit, streams, processCode: r.code, processStderr: r.stderr, killed, ms: Date.now() - t0 };
  }

  log(): string {
    try { return readFileSync(join(this.state, 'keys.log'), 'utf8'); } catch { return ''; }
  }

  cleanup(): void {
    this.daemon?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
