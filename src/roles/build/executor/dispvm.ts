import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import {
  encodeHeader, isWithin, RUN_RECIPE_SERVICE, RunFrameDecoder, type RunRecipeEnd,
} from '../../../protocol/build/run-recipe.js';
import type { Call, Transport } from '../../../protocol/qrexec/transport.js';
import type { ExecResult, ExecSpec, Executor } from './executor.js';
import { checkSpec } from './local.js';
import { takeReturnedTree } from './returned-tree.js';

/** setTimeout's limit (2^31-1 ms). */
const MAX_TIMEOUT_MS = 0x7fffffff;

/**
 * The disposable backend: each run is one `qubesbuilder.RunRecipe` call to `@dispvm:<dvm>`,
 * i.e. a fresh disposable qube made from the disposable template `dvm`, destroyed when the
 * call ends (wire format: src/protocol/build/run-recipe.ts, docs/qrexec.md).
 * - In: the header, then a GNU tar of `cwd` and `inputDirs` (absolute paths without `/`;
 *   an input dir inside `cwd` travels with it). The disposable unpacks them under a root of
 *   its own and runs `argv` there (paths remapped, see the service).
 * - Out: OUTPUT frames go to `onOutput` one at a time, the call's stdout paused while one is
 *   pending (the disposable then blocks on its writes); the END frame says how the recipe
 *   ended; after `exited`, the work dir's tar replaces `cwd` only once it passed every check
 *   (returned-tree.ts). Nothing else comes back: a recipe's other writes die with the qube.
 * - `timeoutMs` (for the whole call, copies included), `outputCapBytes` and `signal` kill
 *   the call; the disposable enforces the same timeout and cap on the recipe itself.
 * - A call that ends without END (refused by policy, the disposable failed) is an error
 *   naming the qrexec exit code and the service's last stderr line.
 */
export class DispVmExecutor implements Executor {
  constructor(private readonly transport: Transport, private readonly dvm: string) {}

  async run(spec: ExecSpec): Promise<ExecResult> {
    checkSpec(spec);
    mkdirSync(spec.cwd, { recursive: true, mode: 0o700 });
    if (spec.signal?.aborted) return { kind: 'aborted', outputBytes: 0 };
    // An input dir inside the work dir is sent with it.
    const inputDirs = [...new Set(spec.inputDirs ?? [])].filter((d) => !isWithin(d, spec.cwd));
    const header = encodeHeader({
      argv: [...spec.argv], cwd: spec.cwd, inputDirs, env: { ...spec.env },
      timeoutMs: spec.timeoutMs, outputCapBytes: spec.outputCapBytes,
    });
    const spool = mkdtempSync(join(dirname(spec.cwd), `.${basename(spec.cwd)}.dispvm-`));
    try {
      const r = await this.call(spec, header, inputDirs, join(spool, 'returned.tar'));
      if (r.end?.kind === 'exited' && r.result.kind === 'exited') await takeReturnedTree(join(spool, 'returned.tar'), spec.cwd);
      return r.result;
    } finally {
      rmSync(spool, { recursive: true, force: true });
    }
  }

  private call(spec: ExecSpec, header: Buffer, inputDirs: string[], tarFile: string): Promise<{ result: ExecResult; end?: RunRecipeEnd }> {
    return new Promise((resolve, reject) => {
      const call: Call = this.transport.call({ target: `@dispvm:${this.dvm}`, service: RUN_RECIPE_SERVICE });
      const out = openSync(tarFile, 'w', 0o600);
      let outClosed = false;
      const closeOut = () => { if (!outClosed) { outClosed = true; closeSync(out); } };
      let bytes = 0;
      let stopped: ExecResult | undefined;
      let failure: unknown;
      let stderrTail = '';
      let inflight: Promise<void> = Promise.resolve();
      let stdoutDone = false;
      let exitCode: number | undefined;
      let settled = false;

      const decoder = new RunFrameDecoder((chunk) => { if (!stopped) writeAll(out, chunk); });
      const kill = () => {
        sender.kill('SIGKILL');
        if (call.kill) call.kill();
        else { call.stdout.destroy(); call.stdin.destroy(); }
      };
      const stop = (why: ExecResult | { failure: unknown }) => {
        if (stopped || settled) return;
        if ('failure' in why) { failure = why.failure; stopped = { kind: 'aborted', outputBytes: bytes }; }
        else stopped = why;
        kill();
        // Whatever is still in the pipe is dropped (the handler ignores it), so its end is seen
        // even when a pending onOutput had paused it.
        call.stdout.resume();
      };
      const settle = () => {
        if (settled || !stdoutDone || exitCode === undefined) return;
        settled = true;
        clearTimeout(timer);
        spec.signal?.removeEventListener('abort', onAbort);
        closeOut();
        void inflight.then(() => {
          if (failure !== undefined) return reject(failure);
          if (stopped) return resolve({ result: { ...stopped, outputBytes: bytes } });
          const end = decoder.ended;
          if (!end || exitCode !== 0) {
            const why = stderrTail.trim().split('\n').pop() ?? '';
            return reject(new QbuildError('stage', `the disposable run (${RUN_RECIPE_SERVICE} to @dispvm:${this.dvm}) failed: qrexec exit ${exitCode}${end ? '' : ', no result'}${why ? `: ${oneLine(why).slice(0, 300)}` : ''}`));
          }
          resolve({ result: endToResult(end, spec, bytes), end });
        }, reject);
      };

      const timer = setTimeout(() => stop({ kind: 'timeout', timeoutMs: spec.timeoutMs, outputBytes: bytes }), Math.min(spec.timeoutMs, MAX_TIMEOUT_MS));
      const onAbort = () => stop({ kind: 'aborted', outputBytes: bytes });
      spec.signal?.addEventListener('abort', onAbort, { once: true });

      // stdin: the header, then tar's output, then EOF.
      call.stdin.on('error', () => { /* the call ended: its exit code tells */ });
      call.stdin.write(header);
      const sender = spawn('tar', ['-c', '-f', '-', '-C', '/', '--', ...[spec.cwd, ...inputDirs].map((d) => d.slice(1))], {
        stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      });
      let tarErr = '';
      sender.stderr.on('data', (b: Buffer) => { tarErr = (tarErr + b.toString()).slice(-2000); });
      sender.stdout.pipe(call.stdin);
      sender.on('error', (e) => stop({ failure: new QbuildError('stage', `cannot run tar for the disposable: ${oneLine(e)}`) }));
      sender.on('close', (code) => {
        if (code !== 0 && !stopped) stop({ failure: new QbuildError('stage', `tar of the work dir for the disposable failed: ${oneLine(tarErr.trim().split('\n').pop() ?? `exit ${code}`)}`) });
      });

      call.stderr.on('data', (b: Buffer) => { stderrTail = (stderrTail + b.toString('utf8')).slice(-4000); });
      // One onOutput at a time, in order: a pending one pauses the call's stdout, and the rest
      // of the outputs already decoded wait behind it.
      let waiting = false;
      const deliver = (outputs: Buffer[], from: number): void => {
        for (let i = from; i < outputs.length; i++) {
          if (stopped) return;
          const o = outputs[i]!;
          const room = spec.outputCapBytes - bytes;
          const over = o.length > room;
          const part = over ? o.subarray(0, room) : o;
          bytes += part.length;
          let r: void | Promise<void> = undefined;
          if (part.length > 0) {
            try { r = spec.onOutput(part); } catch (e) { return stop({ failure: e }); }
          }
          if (r instanceof Promise) {
            inflight = over ? r : r.then(() => {
              waiting = false;
              deliver(outputs, i + 1);
              if (!stopped && !waiting) call.stdout.resume();
            });
            inflight.catch((e: unknown) => stop({ failure: e }));
            if (!over) { waiting = true; call.stdout.pause(); return; }
          }
          if (over) return stop({ kind: 'output-cap', capBytes: spec.outputCapBytes, outputBytes: bytes });
        }
      };
      call.stdout.on('data', (chunk: Buffer) => {
        if (stopped) return;
        let outputs: Buffer[];
        try { outputs = decoder.push(chunk); } catch (e) { return stop({ failure: e }); }
        deliver(outputs, 0);
      });
      call.stdout.on('error', () => { /* treated as its end */ });
      call.stdout.once('close', () => { stdoutDone = true; settle(); });
      call.stdout.once('end', () => { stdoutDone = true; settle(); });
      call.exit.then((code) => { exitCode = code; settle(); }, (e: unknown) => { exitCode = -1; failure ??= e; settle(); });
    });
  }
}

/** How the disposable said the recipe ended, as an ExecResult with the bytes delivered here. */
function endToResult(end: RunRecipeEnd, spec: ExecSpec, bytes: number): ExecResult {
  switch (end.kind) {
    case 'exited': return { kind: 'exited', code: end.code, outputBytes: bytes };
    case 'timeout': return { kind: 'timeout', timeoutMs: spec.timeoutMs, outputBytes: bytes };
    case 'output-cap': return { kind: 'output-cap', capBytes: spec.outputCapBytes, outputBytes: bytes };
    case 'aborted': return { kind: 'aborted', outputBytes: bytes };
  }
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off);
}
