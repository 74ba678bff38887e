import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbuildBin } from '../../helpers/binary.js';
import { run, type RunResult } from '../../helpers/run.js';
import { FrameDecoder, encodeClose, encodeCommand, encodeData } from '../../../src/protocol/splitgpg/wire.js';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signTicket, type Ticket } from '../../../src/protocol/ticket/ticket.js';
import { fixture } from '../../helpers/gpg.js';
import { formDigest, type SignForm } from '../../../src/protocol/signform.js';

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

  logReceived(stdin: string | Buffer, o: { from?: string; arg?: string } = {}): Promise<RunResult> {
    const arg = o.arg ?? 'build-fedora';
    return run(qbuildBin(), ['rpc', 'qubesbuilder.LogReceived', arg], {
      env: this.env({ QREXEC_REMOTE_DOMAIN: o.from ?? 'logs', QREXEC_SERVICE_FULL_NAME: `qubesbuilder.LogReceived+${arg}` }),
      stdin,
    });
  }

  /** Speaks the wire protocol to `qbuild rpc qubes.Gpg` directly: header, stdin frames, close. */
  gpg(args: string[] | Buffer, data: Buffer | undefined, o: { from?: string; inputStreams?: Buffer[] } = {}): Promise<RawReply> {
    return new Promise((resolve, reject) => {
      const child = spawn(qbuildBin(), ['rpc', 'qubes.Gpg'], {
        env: this.env({ QREXEC_REMOTE_DOMAIN: o.from ?? 'build-fedora', QREXEC_SERVICE_FULL_NAME: 'qubes.Gpg' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const decoder = new FrameDecoder(16);
      const streams: Buffer[] = [];
      let exit: number | undefined;
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        for (const f of decoder.push(c)) {
          if (f.kind === 'exit') { exit = f.code; child.stdin.end(); }
          else if (f.kind === 'data') streams[f.stream] = Buffer.concat([streams[f.stream] ?? Buffer.alloc(0), f.data]);
        }
      });
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      child.stdin.on('error', () => {});
      child.on('error', reject);
      child.on('close', (code) => resolve({ exit, streams, processCode: code ?? -1, processStderr: err }));
      child.stdin.write(Buffer.isBuffer(args) ? args : encodeCommand(args));
      const inputs = o.inputStreams ?? (data ? [data] : []);
      inputs.forEach((d, i) => { for (const f of encodeData(i, d)) child.stdin.write(f); child.stdin.write(encodeClose(i)); });
      // The stream stays open until the exit frame (as qbuild sign does).
    });
  }

  /**
   * Starts `qbuild rpc qubes.Gpg`, writes `input` as raw bytes and keeps the stream open
   * (never EOF: a stalled caller); resolves when the process ends, with what came back. A
   * process still running after `deadlineMs` is killed and reported as such.
   */
  gpgRaw(input: Buffer, deadlineMs = 20_000): Promise<RawReply & { killed: boolean; ms: number }> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const child = spawn(qbuildBin(), ['rpc', 'qubes.Gpg'], {
        env: this.env({ QREXEC_REMOTE_DOMAIN: 'build-fedora', QREXEC_SERVICE_FULL_NAME: 'qubes.Gpg' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      let killed = false;
      const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, deadlineMs);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      child.stdin.on('error', () => {});
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        const streams: Buffer[] = [];
        let exit: number | undefined;
        for (const f of new FrameDecoder(16).push(Buffer.concat(out))) {
          if (f.kind === 'exit') exit = f.code;
          else if (f.kind === 'data') streams[f.stream] = Buffer.concat([streams[f.stream] ?? Buffer.alloc(0), f.data]);
        }
        child.stdin.destroy();
        resolve({ exit, streams, processCode: code ?? -1, processStderr: err, killed, ms: Date.now() - t0 });
      });
      child.stdin.write(input);
    });
  }

  log(): string {
    try { return readFileSync(join(this.state, 'keys.log'), 'utf8'); } catch { return ''; }
  }

  cleanup(): void { rmSync(this.dir, { recursive: true, force: true }); }
}
