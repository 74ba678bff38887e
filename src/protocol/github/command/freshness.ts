import type { Command } from './grammar.js';
import { timestampDate } from './grammar.js';

/** How far before now a Build-template / Build-iso timestamp may lie (upstream github-command.py). */
export const TIMESTAMP_MAX_AGE_MS = 60 * 60 * 1000;
/** How far after now it may lie (clock skew between the maintainer and the build qube). */
export const TIMESTAMP_MAX_AHEAD_MS = 5 * 60 * 1000;

/**
 * Why a command's timestamp is stale, or undefined. Rule (upstream github-command.py):
 * Build-template and Build-iso name the build's timestamp, which must lie within
 * [now − 1 h, now + 5 min], so a signed build request cannot be kept and sent much later.
 * Upload-template's timestamp names an existing build (its version), which is older by
 * nature: it is not windowed (the promotion checks that build exists).
 */
export function timestampRefusal(command: Command, now: Date): string | undefined {
  if (command.kind !== 'build-template' && command.kind !== 'build-iso') return undefined;
  const t = timestampDate(command.timestamp).getTime();
  const min = new Date(now.getTime() - TIMESTAMP_MAX_AGE_MS);
  const max = new Date(now.getTime() + TIMESTAMP_MAX_AHEAD_MS);
  if (t < min.getTime() || t > max.getTime()) {
    return `timestamp ${command.timestamp} is outside the allowed window [${min.toISOString()}, ${max.toISOString()}]`;
  }
  return undefined;
}
