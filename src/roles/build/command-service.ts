import { QbuildError } from '../../errors.js';
import { MAX_COMMAND_BYTES, clearsignedShapeError } from '../../protocol/github/clearsigned.js';
import { readCapped } from '../../util/read-capped.js';
import type { ServiceHandler } from '../service.js';
import { appendInbox } from './trigger-service.js';

/**
 * `qubesbuilder.ProcessGithubCommand` (sys-net → build VM), stdin = a clearsigned command.
 * Rules: no argument; at most 8 KiB; ends with `\n`; shaped like one clearsigned block
 * (clearsignedShapeError). An accepted command is recorded durably in the inbox
 * (`command.jsonl`); nothing is printed. Signature verification, the command grammar, the
 * replay store and running the command land with the build role: this only records.
 */
export const handleProcessGithubCommand: ServiceHandler = async (ctx, io) => {
  if (ctx.argument !== undefined) throw new QbuildError('bad-input', 'ProcessGithubCommand takes no argument');
  const bytes = await readCapped(io.stdin, MAX_COMMAND_BYTES, `command longer than ${MAX_COMMAND_BYTES} bytes`);
  const text = bytes.toString('latin1');
  const why = clearsignedShapeError(text);
  if (why) throw new QbuildError('bad-input', `not a clearsigned command: ${why}`);
  appendInbox(io.env, 'command.jsonl', { from: ctx.remoteDomain, text });
  return 0;
};
