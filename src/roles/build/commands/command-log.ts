import type { Transport } from '../../../protocol/qrexec/transport.js';
import { openBuildLog } from '../log-stream.js';

import { COMMAND_LOG_SUB } from '../../../protocol/build/rules.js';

export { COMMAND_LOG_SUB };

export interface CommandLogEntry {
  from: string;
  receivedAt: Date;
  /** The input as received (the logs VM sanitises its bytes). */
  text: string;
  verdict: 'accepted' | 'refused';
  reason?: string;
  signer?: string;
  /** The line as the job runs it when it differs (Upload-component `all` → the granted dists). */
  runs?: string;
  job?: string;
}

/**
 * Lines of the received text go into the log each behind `received: `, so no line of a
 * comment can ever read as one of the log's own lines (a `qbuild-sign` manifest line would
 * ask the keys VM to sign; `qbuild-log-end` would end the log).
 */
export function commandLogLines(e: CommandLogEntry): string {
  const out = [`qbuild command: from ${e.from} at ${e.receivedAt.toISOString()}, ${Buffer.byteLength(e.text)} bytes`];
  for (const l of e.text.replace(/\n$/, '').split('\n')) out.push(`received: ${l}`);
  out.push(`signer: ${e.signer ?? 'none'}`);
  out.push(`verdict: ${e.verdict}${e.reason ? `: ${e.reason}` : ''}`);
  if (e.runs) out.push(`runs: ${e.runs}`);
  if (e.job) out.push(`job: ${e.job}`);
  return `${out.join('\n')}\n`;
}

/** Writes one command's outcome as its own BuildLog stream; resolves to the stored path. */
export async function writeCommandLog(transport: Transport, e: CommandLogEntry): Promise<string> {
  const log = openBuildLog(transport, COMMAND_LOG_SUB);
  await log.write(commandLogLines(e));
  return log.finish();
}

/** Writes free-form result lines (a command job's end) as their own stream in the command log. */
export async function writeCommandResultLog(transport: Transport, lines: string[]): Promise<string> {
  const log = openBuildLog(transport, COMMAND_LOG_SUB);
  await log.write(`${lines.map((l) => l.replace(/\n/g, ' ')).join('\n')}\n`);
  return log.finish();
}
