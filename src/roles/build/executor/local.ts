import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import type { ExecResult, ExecSpec, Executor } from './executor.js';
import { RunRecords } from './run-records.js';

/** setTimeout's limit (2^31-1 ms, ~24.8 days); longer timers would fire at once. */
const MAX_TIMEOUT_MS = 0x7fffffff;

/**
 * The local backend: the recipe is a child process of the build daemon.
 *
 * - It runs in a process group of its own (detached = setsid), and every way a run ends,
 *   including a normal exit, SIGKILLs that whole group: whatever the recipe started in the
 *   background dies with it. (Code that calls setsid itself escapes this; only a disposable
 *   qube contains that.)
 * - stdout and stderr are one FIFO, so the bytes arrive in exactly the order they were written;
 *   no shell wraps the command (a shell would add PWD and friends to the environment).
 * - Output is read only while `onOutput` is not pending: a slow log stalls the recipe instead
 *   of piling up in the daemon's memory.
 */
export class LocalExecutor implements Executor {
  private readonly records: RunRecords | undefined;

  /**
   * `recordsDir` (in the daemon's state): where running groups are recorded, so that
   * reapLeftovers() in a restarted daemon kills what a crashed one left running.
   */
  constructor(opts: { recordsDir?: string } = {}) {
    this.records = opts.recordsDir === undefined ? undefined : new RunRecords(opts.recordsDir);
  }

  /** Kills the recipes a previous daemon left running; call once at start-up. Returns how many. */
  reapLeftovers(): number {
    return this.records?.reap() ?? 0;
  }

  async run(spec: ExecSpec): Promise<ExecResult> {
    const records = this.records;
    checkSpec(spec);
    mkdirSync(spec.cwd, { recursive: true, mode: 0o700 });
    if (spec.signal?.aborted) return { kind: 'aborted', outputBytes: 0 };
    const { readFd, writeFd } = mergedOutputPipe();
    return await new Promise<ExecResult>((resolve, reject) => {
      let outcome: ExecResult | undefined;
      let failure: unknown;
      let bytes = 0;
      let exited = false;
      let drained = false;
      let stopped = false; // by timeout, cap, abort or failure: no more output is delivered
      let settled = false;
      let inflight: Promise<void> = Promise.resolve();

      let child: ChildProcess;
      try {
        child = spawn(spec.argv[0]!, spec.argv.slice(1), {
          cwd: spec.cwd,
          env: { ...spec.env },
          stdio: ['ignore', writeFd, writeFd],
          detached: true,
        });
      } catch (err) {
        closeSync(readFd);
        reject(new QbuildError('stage', `cannot run ${spec.argv[0]}: ${oneLine(err)}`));
        return;
      } finally {
        closeSync(writeFd);
      }
      if (child.pid !== undefined) records?.add(child.pid);
      const out = new Socket({ fd: readFd, readable: true, writable: false });

      const killGroup = () => {
        if (child.pid === undefined) return;
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* group already gone */ }
      };
      const stop = (why: ExecResult | { failure: unknown }) => {
        if (stopped) return;
        stopped = true;
        if ('failure' in why) failure = why.failure ?? new Error('output handler failed');
        else outcome = why;
        killGroup();
        out.destroy();
        drained = true;
        settle();
      };
      const settle = () => {
        if (!exited || !drained || settled) return;
        settled = true;
        cleanup();
        // Never answer while an output write is still pending: the caller ends its log next.
        void inflight.then(() => {
          if (failure !== undefined) return reject(failure);
          // An exited run's count includes what was drained after the exit.
          resolve({ ...outcome!, outputBytes: bytes });
        }, reject);
      };

      const timer = setTimeout(() => stop({ kind: 'timeout', timeoutMs: spec.timeoutMs, outputBytes: bytes }), spec.timeoutMs);
      const onAbort = () => stop({ kind: 'aborted', outputBytes: bytes });
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        if (child.pid !== undefined) records?.remove(child.pid);
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
      };

      out.on('data', (chunk: Buffer) => {
        // After a normal exit the rest of the pipe is still the recipe's output: keep reading.
        if (stopped) return;
        const room = spec.outputCapBytes - bytes;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        bytes += part.length;
        if (part.length > 0) {
          let r: void | Promise<void>;
          try {
            r = spec.onOutput(part);
          } catch (err) {
            stop({ failure: err });
            return;
          }
          if (r instanceof Promise) {
            out.pause();
            inflight = r.then(() => { if (!out.destroyed) out.resume(); });
            inflight.catch((err: unknown) => stop({ failure: err }));
          }
        }
        if (chunk.length > room) stop({ kind: 'output-cap', capBytes: spec.outputCapBytes, outputBytes: bytes });
      });
      out.on('error', () => { /* the pipe breaks only when we destroy it */ });
      out.on('close', () => { drained = true; settle(); });

      child.on('error', (err) => {
        // Could not start at all (e.g. argv[0] not on PATH): there is no group to kill.
        exited = true;
        stop({ failure: new QbuildError('stage', `cannot run ${spec.argv[0]}: ${oneLine(err)}`) });
      });
      child.on('exit', (code, signal) => {
        exited = true;
        // The recipe is over: whatever it left running in its group goes too, and closes the pipe.
        killGroup();
        if (!stopped) {
          const c = code ?? 128 + (signal ? osConstants.signals[signal] ?? 0 : 0);
          outcome = { kind: 'exited', code: c, outputBytes: bytes };
        }
        settle();
      });
    });
  }
}

/**
 * A spec is run only if argv is non-empty, cwd is absolute, every environment entry has a
 * name of `[A-Za-z_][A-Za-z0-9_]*` and no NUL in its value, the timeout is 1 ms to ~24.8 days
 * and the cap a non-negative integer: anything else is a bug in the caller, not the recipe's fault.
 */
export function checkSpec(spec: ExecSpec): void {
  const bad = (why: string): never => { throw new QbuildError('internal', `executor: ${why}`); };
  if (spec.argv.length === 0 || spec.argv.some((a) => a.includes('\0'))) bad('argv must be non-empty strings without NUL');
  if (!spec.cwd.startsWith('/')) bad(`work dir must be absolute: ${spec.cwd}`);
  for (const [k, v] of Object.entries(spec.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || v.includes('\0')) bad(`bad environment entry ${JSON.stringify(k)}`);
  }
  if (!Number.isInteger(spec.timeoutMs) || spec.timeoutMs < 1 || spec.timeoutMs > MAX_TIMEOUT_MS) bad(`bad timeout ${spec.timeoutMs} ms`);
  if (!Number.isSafeInteger(spec.outputCapBytes) || spec.outputCapBytes < 0) bad(`bad output cap ${spec.outputCapBytes}`);
}

/**
 * One pipe for both of the child's stdout and stderr. Node cannot make an anonymous pipe, so
 * this is a FIFO in a private directory, opened at both ends and unlinked at once.
 */
function mergedOutputPipe(): { readFd: number; writeFd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'qbuild-exec-'));
  try {
    const path = join(dir, 'output');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(path, constants.O_WRONLY);
    return { readFd, writeFd };
  } catch (err) {
    throw new QbuildError('io', `executor: cannot make the output pipe: ${oneLine(err)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
