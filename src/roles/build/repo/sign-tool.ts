import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import type { StageContext } from '../pipeline/types.js';

/** What one tool run left behind. */
export interface ToolRun { code: number; stdout: Buffer; stderr: string }

/**
 * Runs `cmd` in `ctx`'s environment (never the daemon's own), collecting both outputs.
 * Never rejects on an exit code; rejects when the program cannot start, or when the job
 * is aborted (the child is killed first).
 */
export function runTool(ctx: StageContext, cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) { reject(new QbuildError('stage', `${cmd}: the job was stopped`)); return; }
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ctx.workDir, env: { ...ctx.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const abort = () => child.kill('SIGKILL');
    ctx.signal.addEventListener('abort', abort, { once: true });
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => {
      ctx.signal.removeEventListener('abort', abort);
      reject(new QbuildError('stage', `cannot run ${cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', abort);
      if (ctx.signal.aborted) { reject(new QbuildError('stage', `${cmd}: the job was stopped`)); return; }
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}

/** Like runTool, but a non-zero exit is a stage failure naming the tool and its last words. */
export async function mustRun(ctx: StageContext, cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<ToolRun> {
  const r = await runTool(ctx, cmd, args, opts);
  if (r.code !== 0) throw new QbuildError('stage', `${cmd} failed (exit ${r.code}): ${lastWords(r)}`);
  return r;
}

/** The last two lines a tool printed (stderr first), as one line. */
export function lastWords(r: ToolRun): string {
  const text = (r.stderr.trim() || r.stdout.toString('utf8').trim()).split('\n').slice(-2).join(' | ');
  return oneLine(text || 'no message');
}

/**
 * The drop-in gpg that rpmsign (`%__gpg`) and anything else expecting a gpg program runs:
 * a two-line script exec'ing `qbuild sign`. Debian's rpm macros point `%__gpg` at
 * /usr/bin/gpg2, which bookworm does not ship, so callers always define it to this.
 */
export function writeGpgWrapper(ctx: StageContext): string {
  const path = join(ctx.workDir, 'qbuild-gpg');
  writeFileSync(path, `#!/bin/sh\nexec ${shellQuote(ctx.qbuildBin)} sign "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A POSIX shell single-quoted word. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The keys VM's refusal for bytes no ticket names yet (src/roles/keys/gate.ts:
 * `refused to sign: no ticket for <form>:<hex> from <vm>`). Only this refusal is worth
 * waiting on: the ticket may still be on its way from the logs VM. Every other failure
 * (expired ticket, wrong key, policy, a tool's own error) is final.
 */
export function isNoTicketYet(stderr: string): boolean {
  return /refused to sign: no ticket for /.test(stderr);
}

export interface TicketWait {
  /** Give up after this long (default 120 s: the logs VM commits and pushes before it sends the ticket). */
  timeoutMs?: number;
  /** First pause (default 25 ms: each try is itself a qrexec round trip), doubled after each refusal up to maxDelayMs (default 2 s). */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `attempt` (a signature) until it succeeds; while it fails only because the keys VM
 * holds no ticket yet, waits with exponential backoff, bounded by `wait.timeoutMs`. Any other
 * failure, the deadline, or the job's abort is a one-line stage error naming `what`.
 */
export async function untilTicketed(ctx: StageContext, what: string, attempt: () => Promise<ToolRun>, wait: TicketWait = {}): Promise<ToolRun> {
  const deadline = Date.now() + (wait.timeoutMs ?? 120_000);
  let delay = wait.firstDelayMs ?? 25;
  for (let tries = 1; ; tries++) {
    const r = await attempt();
    if (r.code === 0) return r;
    if (!isNoTicketYet(r.stderr)) throw new QbuildError('stage', `${what}: ${lastWords(r)}`);
    const left = deadline - Date.now();
    if (left <= 0) throw new QbuildError('stage', `${what}: the keys VM still holds no ticket after ${tries} tries (${lastWords(r)})`);
    await sleep(ctx.signal, Math.min(delay, left));
    delay = Math.min(delay * 2, wait.maxDelayMs ?? 2000);
  }
}

/**
 * Runs the signatures of one step: the first waits for the ticket (untilTicketed), the rest
 * must succeed at once, since their digests came in the same ticket.
 */
export class TicketedSigner {
  private first = true;
  constructor(private readonly ctx: StageContext, private readonly wait: TicketWait = {}) {}
  async run(what: string, attempt: () => Promise<ToolRun>): Promise<void> {
    if (this.first) {
      await untilTicketed(this.ctx, what, attempt, this.wait);
      this.first = false;
      return;
    }
    const r = await attempt();
    if (r.code !== 0) throw new QbuildError('stage', `${what}: ${lastWords(r)}`);
  }
}

function sleep(signal: AbortSignal, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new QbuildError('stage', 'the job was stopped')); return; }
    const t = setTimeout(() => { signal.removeEventListener('abort', stop); resolve(); }, ms);
    const stop = () => { clearTimeout(t); reject(new QbuildError('stage', 'the job was stopped')); };
    signal.addEventListener('abort', stop, { once: true });
  });
}

/** `qbuild sign` arguments for each signature shape the pipeline makes. */
export type SignShape = 'detach-armor' | 'clearsign';

/**
 * Signs `input` into `output` through `qbuild sign` with `key`. `qbuild sign` writes
 * `-o FILE` only after the keys VM answered with success, so a refusal leaves no file.
 */
export function qbuildSign(ctx: StageContext, wrapper: string, key: string, shape: SignShape, input: string, output: string): Promise<ToolRun> {
  const mode = shape === 'clearsign' ? ['--clearsign'] : ['--detach-sign', '--armor'];
  return runTool(ctx, wrapper, ['--batch', '--no-tty', '-u', key, ...mode, '-o', output, input]);
}
