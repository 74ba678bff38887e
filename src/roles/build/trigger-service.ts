import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { stateDir } from '../../config.js';
import { checkComponentName } from '../../protocol/github/component.js';
import type { ServiceHandler } from '../service.js';
import { loadBuildConfig } from './config.js';
import { buildPaths } from './state/paths.js';
import { enqueue } from './state/queue.js';

/**
 * Appends one accepted request as a JSON line to `<state>/inbox/<name>`, fsynced before the
 * service exits 0, so an acknowledged call is never lost. One write(2) on an O_APPEND file:
 * concurrent services do not interleave their lines.
 */
export function appendInbox(env: NodeJS.ProcessEnv, name: string, record: Record<string, unknown>): void {
  const dir = join(stateDir(env), 'inbox');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(join(dir, name), 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ at: new Date().toISOString(), ...record })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new QbuildError('io', `cannot record the request in ${dir}: ${(e as Error).message}`);
  }
}

/**
 * `qubesbuilder.TriggerBuild+COMPONENT` (sys-net → build VM). Rules:
 * - the argument is required and must be a component name (≤ 64 chars, `[A-Za-z0-9_-]`);
 * - stdin is never read (the caller sends nothing; nothing it sends is trusted);
 * - every accepted call is recorded durably in the inbox (`trigger.jsonl`);
 * - a component this env builds is queued for the build daemon (fsynced before exit 0; a
 *   trigger while one waits joins it); any other component is refused with its reason
 *   recorded (`trigger-refused.jsonl`), still exit 0: sys-net forwards every push to every
 *   build VM, and a refusal must not make it retry.
 * Nothing is printed: the caller learns nothing about this VM's state.
 */
export const handleTriggerBuild: ServiceHandler = async (ctx, io) => {
  if (ctx.argument === undefined) throw new QbuildError('bad-input', 'TriggerBuild needs the component name as its argument');
  const component = checkComponentName(ctx.argument);
  io.stdin.destroy();
  appendInbox(io.env, 'trigger.jsonl', { from: ctx.remoteDomain, component });
  const state = stateDir(io.env);
  const config = loadBuildConfig(state, io.env);
  if (!config.components.some((c) => c.name === component)) {
    appendInbox(io.env, 'trigger-refused.jsonl', { from: ctx.remoteDomain, component, reason: `not a component of env ${config.env}` });
    return 0;
  }
  enqueue(buildPaths(state), component, ctx.remoteDomain);
  return 0;
};
