import { QbuildError } from '../../errors.js';
import { subdirFromArgument } from '../../protocol/buildlog/format.js';
import type { ServiceHandler } from '../service.js';
import type { ChunkSource } from '../../util/fd-io.js';
import { readLoop } from './read-loop.js';
import { LogWriter } from './log-writer.js';
import { notifyDaemon } from './notify.js';
import { loadLogsSettings } from './settings.js';

/** Bytes per read of the caller's stream. */
const READ_BYTES = 1024 * 1024;

/**
 * `qubesbuilder.BuildLog` (design §5): stores the calling build VM's live output in the log
 * store, line by line as it arrives, and prints the stored path as its one line of output.
 * The caller's name comes from qrexec (ctx.remoteDomain), never from the stream. Light on
 * purpose: no openpgp or git here; the daemon publishes.
 */
export const handleBuildLog: ServiceHandler = async (ctx, io) => {
  const settings = loadLogsSettings(io.env);
  checkCaller(ctx.remoteDomain, settings.buildVms);
  const writer = LogWriter.open(settings, ctx.remoteDomain, subdirFromArgument(ctx.argument));
  const told = notifyDaemon(settings.socket, { event: 'open', path: writer.path });
  // Run by a qrexec stub: 1 MiB reads of the descriptor itself into two reused buffers (one
  // encoder pass and one write per MiB), the next read in flight while a chunk is stored.
  const fds = io.fds;
  const source: ChunkSource | undefined = fds ? undefined : io.stdin;
  const reading = fds ? readLoop(fds.stdin, READ_BYTES, (chunk) => writer.push(chunk)) : streamLoop(io.stdin, writer);
  const failure = await reading.then(() => undefined, (e: unknown) => e);
  // The disk failed: one line for the caller; the daemon closes the log when it can.
  // Otherwise the caller's stream broke: what arrived is stored; close() marks the log incomplete.
  if (failure instanceof QbuildError) return stopped(failure, source, told);
  try {
    writer.close();
  } catch (e) {
    return stopped(e as QbuildError, source, told);
  }
  await told;
  await notifyDaemon(settings.socket, { event: 'done', path: writer.path });
  // The caller may be gone already; the log is stored and handed on either way.
  io.stdout.on('error', () => {});
  io.stdout.write(`${writer.path}\n`);
  return 0;
};

/** The writer stopped on a disk error: tell the daemon (it closes the log), then fail with one line. */
async function stopped(e: QbuildError, source: ChunkSource | undefined, told: Promise<void>): Promise<never> {
  source?.destroy();
  await told;
  throw e;
}

/** Feeds a stream (a caller without descriptors, e.g. in-process) to the writer; rejects with what push threw. */
function streamLoop(source: ChunkSource, writer: LogWriter): Promise<void> {
  return new Promise((resolve, reject) => {
    source.on('data', (chunk: Buffer) => {
      try { writer.push(chunk); } catch (e) { source.destroy(); reject(e); }
    });
    source.on('end', () => resolve());
    source.on('error', (e) => reject(e));
  });
}

/**
 * Rule: when the logs VM is provisioned with its build VMs (logs.buildVms), only those may
 * store logs here; policy already says so, this keeps a policy mistake from mixing in logs of
 * other VMs. dom0 never builds.
 */
function checkCaller(vm: string, buildVms: string[]): void {
  if (vm === 'dom0' || (buildVms.length > 0 && !buildVms.includes(vm))) {
    throw new QbuildError('refused', `${vm} is not a build VM of this logs VM`);
  }
}
