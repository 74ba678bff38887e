import { QbuildError } from '../../errors.js';
import { subdirFromArgument } from '../../protocol/buildlog/format.js';
import type { ServiceHandler, ServiceIO } from '../service.js';
import { LogWriter } from './log-writer.js';
import { notifyDaemon } from './notify.js';
import { loadLogsSettings } from './settings.js';

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
  try {
    for await (const chunk of io.stdin) writer.push(chunk as Buffer);
  } catch (e) {
    // The disk failed (one line for the caller; the daemon closes the log when it can), or
    // the caller's stream broke: what arrived is stored; close() marks the log incomplete.
    if (e instanceof QbuildError) return stopped(e, io, told);
  }
  try {
    writer.close();
  } catch (e) {
    return stopped(e as QbuildError, io, told);
  }
  await told;
  await notifyDaemon(settings.socket, { event: 'done', path: writer.path });
  // The caller may be gone already; the log is stored and handed on either way.
  io.stdout.on('error', () => {});
  io.stdout.write(`${writer.path}\n`);
  return 0;
};

/** The writer stopped on a disk error: tell the daemon (it closes the log), then fail with one line. */
async function stopped(e: QbuildError, io: ServiceIO, told: Promise<void>): Promise<never> {
  io.stdin.destroy();
  await told;
  throw e;
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
