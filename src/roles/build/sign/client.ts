import { closeSync, openSync, writeFileSync, readFileSync } from 'node:fs';
import { QbuildError } from '../../../errors.js';
import { FrameDecoder, encodeClose, encodeCommand, encodeData, FRAME_MAX_DATA } from '../../../protocol/splitgpg/wire.js';
import { planSign, type SignPlan } from './plan.js';
import { msSinceStart } from '../../../elapsed.js';
import { FdReader, FdWriter } from '../../../util/fd-io.js';

const t0 = msSinceStart();

const writers = new Map<number, FdWriter>();

/**
 * Writes all of `data` to a local fd (FdWriter: retries a full non-blocking pipe; a reader
 * that went away is, as in split-gpg, not fatal).
 */
function writeAllSync(fd: number, data: Buffer): void {
  let w = writers.get(fd);
  if (!w) writers.set(fd, (w = new FdWriter(fd)));
  w.write(data);
}

/** The keys VM to ask: QUBES_GPG_DOMAIN (as upstream), else build.keysVm from this qube's config. */
async function keysTarget(env: NodeJS.ProcessEnv): Promise<string> {
  if (env.QUBES_GPG_DOMAIN) return env.QUBES_GPG_DOMAIN;
  const { loadVmConfig, configSection } = await import('../../../config.js');
  let keysVm: unknown;
  try {
    keysVm = configSection(loadVmConfig(env), 'build').keysVm;
  } catch (e) {
    throw new QbuildError('config', `no keys VM: set QUBES_GPG_DOMAIN or provision build.keysVm (${(e as Error).message})`);
  }
  if (typeof keysVm !== 'string' || !keysVm) throw new QbuildError('config', 'build.keysVm is not set: set QUBES_GPG_DOMAIN');
  return keysVm;
}

/** The input's fd (stdin, or FILE opened now) and whether we close it. */
interface Input { fd: number; own: boolean }

function openInput(path: string | undefined): Input {
  if (path === undefined || path === '-') return { fd: 0, own: false };
  try {
    return { fd: openSync(path, 'r'), own: true };
  } catch (e) {
    throw new QbuildError('io', `cannot open ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads `input` to EOF in 64 KiB chunks (FdReader, fs.read: no fs.ReadStream, whose module
 * costs this per-signature process several ms to load). `chunk` returns false to wait for `wait`.
 */
function readInput(input: Input, chunk: (b: Buffer) => boolean, wait: (resume: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const r = new FdReader(input.fd);
    r.on('data', (b: Buffer) => {
      if (chunk(b)) return;
      r.pause();
      wait(() => r.resume());
    });
    r.on('end', () => {
      if (input.own) closeSync(input.fd);
      resolve();
    });
    r.on('error', reject);
  });
}

/**
 * `qbuild sign [gpg args]`: the split-gpg client (design §5). Sends the command header and
 * the input streams as frames, routes the keys VM's output frames to local fds, and keeps
 * the qrexec stream open until the exit frame: the exit frame's code is our exit code.
 * `-o FILE` is written only when the keys VM reported success, so a refusal writes nothing.
 */
export async function runSign(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    writeAllSync(1, Buffer.from('usage: qbuild sign [gpg options] [FILE]\n  split-gpg client: signs in the keys VM (QUBES_GPG_DOMAIN or build.keysVm).\n  e.g. qbuild sign -u KEY --detach-sign -a -o FILE.asc FILE; see docs/splitgpg.md\n'));
    return 0;
  }
  // No arguments at all is a usage error (exit 2), not a refusal of what was asked.
  if (argv.length === 0) {
    writeAllSync(2, Buffer.from('qbuild: sign: no command given (see qbuild sign --help)\n'));
    return 2;
  }
  let plan: SignPlan;
  try {
    plan = planSign(argv);
  } catch (e) {
    if (e instanceof QbuildError) {
      writeAllSync(2, Buffer.from(`qbuild: sign: refused: ${e.message}\n`));
      return e.code === 'config' ? e.exitCode : 1;
    }
    throw e;
  }
  // Local files are opened before the call: a missing file must not leave the keys VM waiting.
  const { action } = plan.request;
  const needsInput = action !== 'list-keys' && action !== 'list-secret-keys' && action !== 'export';
  let input: Input | undefined;
  let sigBytes: Buffer | undefined;
  try {
    if (needsInput) input = openInput(plan.inputFile);
    if (action === 'verify') sigBytes = readFileSync(plan.sigFile === '-' ? 0 : plan.sigFile!);
  } catch (e) {
    writeAllSync(2, Buffer.from(`qbuild: sign: ${(e as Error).message}\n`));
    return 2;
  }
  const target = await keysTarget(env);
  const { loadDefaultTransport } = await import('../../../protocol/qrexec/transport-choice.js');
  const transport = await loadDefaultTransport(env);
  const tStart = msSinceStart();
  const call = transport.call({ target, service: 'qubes.Gpg' });
  const req = plan.request;
  const outputChunks: Buffer[] = [];
  let exitCode: number | undefined;
  let tFirst: number | undefined;

  const done = new Promise<number>((resolve, reject) => {
    const decoder = new FrameDecoder(req.outputFds.length);
    call.stdout.on('data', (chunk: Buffer) => {
      tFirst ??= msSinceStart();
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        reject(new QbuildError('protocol', `keys VM: ${(e as Error).message}`));
        return;
      }
      for (const f of frames) {
        if (f.kind === 'exit') { exitCode = f.code; resolve(f.code); return; }
        if (f.kind !== 'data') continue;
        if (f.stream === 0 && plan.outputFile !== undefined) outputChunks.push(f.data);
        else writeAllSync(plan.routes[f.stream]!, f.data);
      }
    });
    call.stdout.on('end', () => {
      if (exitCode !== undefined) return;
      call.exit.then((code) => {
        const why = code === 126 ? 'qrexec refused the call (policy)' : code === 127 ? 'no qubes.Gpg service there' : 'the keys VM closed the stream without an exit status';
        writeAllSync(2, Buffer.from(`qbuild: sign: ${why} (qrexec exit ${code})\n`));
        resolve(code === 0 ? 1 : code);
      }, reject);
    });
  });
  call.stderr.on('data', (c: Buffer) => writeAllSync(2, c));

  // Our side of the stream: header, then stdin (and the --verify signature), each closed by
  // an empty frame. List/export read no input (as gpg there): stdin is closed at once.
  // It starts on the next turn of the event loop: the transport's connection completes first,
  // so the call request leaves before this work, and the keys VM starts up meanwhile.
  setImmediate(() => {
    const send = (b: Buffer) => call.stdin.write(b);
    send(encodeCommand(plan.args));
    const pump = (stream: number, source: Input) => readInput(source, (chunk) => {
      let ok = true;
      for (let off = 0; off < chunk.length; off += FRAME_MAX_DATA) {
        for (const f of encodeData(stream, chunk.subarray(off, off + FRAME_MAX_DATA))) ok = send(f) && ok;
      }
      return ok;
    }, (resume) => call.stdin.once('drain', resume)).then(
      () => { send(encodeClose(stream)); },
      (e: Error) => { throw new QbuildError('io', `reading input: ${e.message}`); },
    );
    if (input) {
      void pump(0, input).catch((e: Error) => writeAllSync(2, Buffer.from(`qbuild: sign: ${e.message}\n`)));
      if (sigBytes) {
        for (const f of encodeData(1, sigBytes)) send(f);
        send(encodeClose(1));
      }
    } else {
      send(encodeClose(0));
    }
  });

  const code = await done;
  const tEnd = msSinceStart();
  if (code === 0 && plan.outputFile !== undefined) {
    try {
      writeFileSync(plan.outputFile, Buffer.concat(outputChunks));
    } catch (e) {
      writeAllSync(2, Buffer.from(`qbuild: sign: cannot write ${plan.outputFile}: ${(e as Error).message}\n`));
      return 2;
    }
  }
  if (env.QBUILD_SIGN_TIMING) {
    writeAllSync(2, Buffer.from(`qbuild-sign-timing startup_ms=${(tStart - 0).toFixed(2)} main_ms=${t0.toFixed(2)} first_frame_ms=${((tFirst ?? tEnd) - tStart).toFixed(2)} call_ms=${(tEnd - tStart).toFixed(2)}\n`));
  }
  call.stdin.end();
  return code;
}

/**
 * Entry from main.ts's fast path: no yargs, no openpgp. Exits as soon as the answer is
 * written (a pending read of our stdin must not keep the process alive).
 */
export async function runSignAndExit(argv: string[]): Promise<never> {
  let code: number;
  try {
    code = await runSign(argv);
  } catch (e) {
    const { reportAndExit } = await import('../../../cli/report.js');
    reportAndExit(e, 'sign');
    code = typeof process.exitCode === 'number' ? process.exitCode : 1;
  }
  process.exit(code);
}
