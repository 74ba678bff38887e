import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { QbuildError, oneLine } from '../../../errors.js';
import {
  encodeEnd, encodeRunFrame, isWithin, MAX_HEADER, OUTPUT_CHUNK, parseHeader, RunFrame, type RunRecipeEnd, type RunRecipeHeader,
} from '../../../protocol/build/run-recipe.js';
import type { ServiceHandler } from '../../service.js';
import type { ExecResult } from '../executor/executor.js';
import { LocalExecutor } from '../executor/local.js';

const TAR_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C' };

/**
 * `qubesbuilder.RunRecipe`, served inside a disposable qube made for this one call (wire
 * format: src/protocol/build/run-recipe.ts). Rules:
 * - the caller is whoever policy let through (only `build-ENV` to its `@dispvm:dvm-build-ENV`):
 *   the service trusts its input no more than it needs, as the disposable dies after the call;
 * - the header is one line of at most MAX_HEADER bytes, parsed strictly (parseHeader);
 * - the tar that follows is unpacked under a fresh root `R` (in the qube's home) with
 *   --no-same-owner; each path P the header names lives at `R/P`: the recipe runs in `R/cwd`,
 *   and every environment value equal to or below cwd or an input dir is remapped the same
 *   way (HOME, TMPDIR, SOURCE_DIR, OUTPUT_DIR...), any other value is passed as it is;
 * - the recipe runs as a local run here (own process group, killed with everything it
 *   started), with the header's timeout and output cap; its output goes out as OUTPUT frames;
 * - END says how it ended; after `exited`, a GNU tar of `R/cwd` follows;
 * - the caller going away (stdout broken) or SIGTERM ends the run; `R` is removed in any case.
 * Exit 0 whenever END was sent; a bad header or tar is one line on stderr, exit 2 / 1.
 */
export const handleRunRecipe: ServiceHandler = async (_ctx, io) => {
  const { header, rest } = await readHeader(io.stdin);
  const h = parseHeader(header);
  const base = io.env.HOME || tmpdir();
  mkdirSync(base, { recursive: true });
  const root = mkdtempSync(join(base, 'qbuild-run-'));
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGTERM', onSignal).once('SIGHUP', onSignal);
  io.stdout.on('error', onSignal);
  io.stdout.once('close', onSignal);
  try {
    await unpackInput(io.stdin, rest, root);
    for (const d of [h.cwd, ...h.inputDirs]) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
    const r = await new LocalExecutor().run({
      argv: h.argv, cwd: join(root, h.cwd), env: remapEnv(h, root), timeoutMs: h.timeoutMs, outputCapBytes: h.outputCapBytes,
      onOutput: (chunk) => sendOutput(io.stdout, chunk), signal: abort.signal,
    });
    const end = endOf(r);
    await write(io.stdout, encodeEnd(end));
    if (end.kind === 'exited') await sendTree(join(root, h.cwd), io.stdout, io.fds?.stdout);
    io.stdout.end();
    return 0;
  } finally {
    process.off('SIGTERM', onSignal).off('SIGHUP', onSignal);
    rmSync(root, { recursive: true, force: true });
  }
};

/** Every env value naming a path at or below cwd or an input dir, moved under `root`. */
export function remapEnv(h: RunRecipeHeader, root: string): Record<string, string> {
  const dirs = [h.cwd, ...h.inputDirs];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(h.env)) env[k] = dirs.some((d) => isWithin(v, d)) ? join(root, v) : v;
  return env;
}

function endOf(r: ExecResult): RunRecipeEnd {
  return r.kind === 'exited' ? { kind: 'exited', code: r.code } : { kind: r.kind };
}

/** The header line and the bytes read after it (stdin is left paused). Rule: a `\n` within MAX_HEADER bytes. */
function readHeader(stdin: Readable): Promise<{ header: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const done = (e: Error | undefined, r?: { header: string; rest: Buffer }) => {
      stdin.off('data', onData).off('end', onEnd).off('error', onEnd);
      stdin.pause();
      if (e) reject(e); else resolve(r!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(0x0a);
      if (nl >= 0 && nl < MAX_HEADER) return done(undefined, { header: buf.subarray(0, nl).toString('utf8'), rest: buf.subarray(nl + 1) });
      if (buf.length >= MAX_HEADER) done(new QbuildError('bad-input', `RunRecipe header: no line within ${MAX_HEADER} bytes`));
    };
    const onEnd = () => done(new QbuildError('bad-input', 'RunRecipe header: input ended before the header line'));
    stdin.on('data', onData).once('end', onEnd).once('error', onEnd);
  });
}

/** GNU tar unpacks the rest of stdin (the build qube's cwd and inputs) under `root`. */
function unpackInput(stdin: Readable, first: Buffer, root: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-x', '-f', '-', '-C', root, '--no-same-owner'], { stdio: ['pipe', 'ignore', 'pipe'], env: TAR_ENV });
    let err = '';
    tar.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    tar.stdin.on('error', () => { /* tar's exit says why */ });
    tar.stdin.write(first);
    stdin.pipe(tar.stdin);
    stdin.resume();
    tar.on('error', (e) => reject(new QbuildError('io', `cannot run tar: ${oneLine(e)}`)));
    tar.on('close', (code) => {
      if (code === 0) return resolve();
      reject(new QbuildError('bad-input', `the work dir sent in did not unpack: ${oneLine(err.trim().split('\n').pop() ?? `tar exit ${code}`)}`));
    });
  });
}

/** OUTPUT frames for `chunk`; a promise while the caller's stream is full (the recipe waits). */
function sendOutput(out: Writable, chunk: Buffer): void | Promise<void> {
  let room = true;
  for (let i = 0; i < chunk.length; i += OUTPUT_CHUNK) room = out.write(encodeRunFrame(RunFrame.Output, chunk.subarray(i, i + OUTPUT_CHUNK)));
  if (room) return;
  return new Promise((resolve) => {
    const done = () => { out.off('drain', done); out.off('close', done); resolve(); };
    out.once('drain', done);
    out.once('close', done);
  });
}

/** Resolves once `b` reached the OS (so a child may write to the same descriptor after it). */
function write(out: Writable, b: Buffer): Promise<void> {
  return new Promise((resolve, reject) => out.write(b, (e) => (e ? reject(new QbuildError('io', `the caller went away: ${oneLine(e)}`)) : resolve())));
}

/** GNU tar of `dir` (`./…`) to the caller: straight onto the descriptor when there is one. */
function sendTree(dir: string, out: Writable, fd: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', ['-c', '-f', '-', '-C', dir, '.'], { stdio: ['ignore', fd ?? 'pipe', 'pipe'], env: TAR_ENV });
    let err = '';
    tar.stderr!.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-2000); });
    if (fd === undefined) tar.stdout!.pipe(out, { end: false });
    tar.on('error', (e) => reject(new QbuildError('io', `cannot run tar: ${oneLine(e)}`)));
    tar.on('close', (code) => {
      if (code === 0) return resolve();
      reject(new QbuildError('io', `tar of the work dir failed: ${oneLine(err.trim().split('\n').pop() ?? `exit ${code}`)}`));
    });
  });
}
