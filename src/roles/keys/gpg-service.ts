import type { ServiceHandler } from '../service.js';
import { stateDir } from '../../config.js';
import { decodeCommand } from '../../protocol/splitgpg/wire.js';
import { parseGpgArgs, requestSignForm, type GpgRequest } from '../../protocol/splitgpg/options.js';
import { failureStatus } from '../../protocol/splitgpg/status.js';
import { keysLog } from './keys-log.js';
import { msSinceStart } from '../../elapsed.js';
import { FdReader, FdWriter, type ChunkSink, type ChunkSource } from '../../util/fd-io.js';
import { loadGpgLimits } from './keys-config.js';
import { takeGpgSlot } from './gpg-slots.js';
import { RequestInput } from './gpg-request-input.js';
import { ResponseOutput } from './gpg-response-output.js';

/**
 * `qubes.Gpg` in the keys VM (design §5, §6). Order of checks: concurrency bound (at most
 * keys.maxConcurrentGpg requests at once) → wire header (within keys.idleSeconds) → option
 * allowlist (refusals here touch no key and no ticket) → caller and gate (the digest, in the
 * form the requested signature binds, in an unexpired ticket for the caller) → key lookup →
 * signing. List/export need no input and no gate: they only reveal public keys.
 */
export const handleGpg: ServiceHandler = async (ctx, io) => {
  // Milliseconds from process start to here: the server's start-up (reported in the log, for
  // bench/sign); 0 in the resident daemon (no descriptors: it started before the call).
  const startupMs = io.fds ? msSinceStart() : 0;
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
