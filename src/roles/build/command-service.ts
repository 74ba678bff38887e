import { QbuildError, oneLine } from '../../errors.js';
import { configPath, loadVmConfig, stateDir } from '../../config.js';
import { parseCommandsSection } from '../../protocol/github/command/authorisation.js';
import { formatCommand, type Command } from '../../protocol/github/command/grammar.js';
import { MAX_COMMAND_BYTES, clearsignedShapeError } from '../../protocol/github/clearsigned.js';
import { loadDefaultTransport } from '../../protocol/qrexec/transport-choice.js';
import { readCapped } from '../../util/read-capped.js';
import type { ServiceHandler } from '../service.js';
import { writeCommandLog, type CommandLogEntry } from './commands/command-log.js';
import { decide } from './commands/decide.js';
import { forget, remember } from './commands/replay-store.js';
import { parseBuildConfig } from './config.js';
import { buildPaths } from './state/paths.js';
import { enqueueCommand } from './state/queue.js';
import { appendInbox } from './trigger-service.js';

/** What a command job acts on: its stage logs go under this sub-directory, next to that component's builds. */
function subjectOf(c: Command): string {
  switch (c.kind) {
    case 'upload-component': return c.component;
    case 'build-template':
    case 'upload-template': return c.template;
    case 'build-iso': return 'iso';
  }
}

/**
 * `qubesbuilder.ProcessGithubCommand` (sys-net → build VM), stdin = a clearsigned command
 * (docs/commands.md). Rules:
 * - no argument; at most 8 KiB; ends with `\n`; shaped like one clearsigned block
 *   (clearsignedShapeError): otherwise a one-line error, exit 2 (sys-net never forwards
 *   such input, so the caller is broken, not a maintainer);
 * - the input is recorded durably in the inbox (`command.jsonl`), as received;
 * - then the checks of decide.ts, in order; an accepted command's signature is remembered
 *   in the replay store (fsynced) and only then the command is queued as a build-daemon job
 *   (fsynced): a crash in between refuses the replay rather than running it twice; a queueing
 *   that fails (a full disk) forgets the signature again and exits 1, so sys-net's retry runs it;
 * - every outcome, accepted or refused, is written to the public command log (a BuildLog
 *   stream under `commands/`) with the text as received, the signer and the reason;
 * - a refusal exits 0 like an acceptance: sys-net's forwarder retries every other exit
 *   code, and a refused command must not be retried. Exit 1 only when the outcome could not
 *   be recorded (the command log or the state disk failed): then a retry is what is wanted.
 * Nothing is printed: the caller learns nothing about this VM's state.
 */
export const handleProcessGithubCommand: ServiceHandler = async (ctx, io) => {
  if (ctx.argument !== undefined) throw new QbuildError('bad-input', 'ProcessGithubCommand takes no argument');
  const bytes = await readCapped(io.stdin, MAX_COMMAND_BYTES, `command longer than ${MAX_COMMAND_BYTES} bytes`);
  const text = bytes.toString('latin1');
  const why = clearsignedShapeError(text);
  if (why) throw new QbuildError('bad-input', `not a clearsigned command: ${why}`);
  appendInbox(io.env, 'command.jsonl', { from: ctx.remoteDomain, text });

  const receivedAt = new Date();
  const state = stateDir(io.env);
  const vmConfig = loadVmConfig(io.env);
  const config = parseBuildConfig(vmConfig, state, configPath(io.env));
  const section = parseCommandsSection(vmConfig.commands, configPath(io.env));
  const paths = buildPaths(state);
  const d = await decide({ text, config, section, paths, now: receivedAt });

  const entry: CommandLogEntry = { from: ctx.remoteDomain, receivedAt, text, verdict: 'refused' };
  if (d.signer) entry.signer = d.signer;
  if (!d.accepted) {
    entry.reason = d.reason;
  } else if (!remember(paths, d.canonical.digest, { at: receivedAt.toISOString(), from: ctx.remoteDomain, signer: d.signer, line: d.canonical.line })) {
    // The same signature accepted meanwhile by a concurrent delivery: only one caller wins.
    entry.reason = `replay: this signature (sha256 ${d.canonical.digest}) was accepted before`;
  } else {
    const line = d.canonical.line;
    const runs = formatCommand(d.command);
    entry.verdict = 'accepted';
    if (runs !== line) entry.runs = runs;
    try {
      entry.job = enqueueCommand(paths, subjectOf(d.command), ctx.remoteDomain, { line, command: d.command, signer: d.signer, digest: d.canonical.digest }, receivedAt);
    } catch (e) {
      // Not queued (a full disk): forget the signature, so sys-net's retry is taken, not refused as a replay.
      try { forget(paths, d.canonical.digest); } catch (f) { throw new QbuildError('io', `${oneLine(e)}; and ${oneLine(f)}`); }
      throw e;
    }
  }
  await writeCommandLog(await loadDefaultTransport(io.env), entry);
  return 0;
};
