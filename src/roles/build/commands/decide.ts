import { createHash } from 'node:crypto';
import { oneLine, QbuildError } from '../../../errors.js';
import { authorise, type CommandsSectionJson } from '../../../protocol/github/command/authorisation.js';
import { parseCanonicalCommand, type CanonicalCommand } from '../../../protocol/github/command/canonical.js';
import { timestampRefusal } from '../../../protocol/github/command/freshness.js';
import type { Command } from '../../../protocol/github/command/grammar.js';
import type { BuildConfig } from '../pipeline/types.js';
import type { BuildPaths } from '../state/paths.js';
import { promoteRefusal } from './promote-refusal.js';
import { seenBefore } from './replay-store.js';
import { readCommandKeys, verifyCommandSignature } from './verify-signature.js';

export type Decision =
  | { accepted: true; canonical: CanonicalCommand; signer: string; command: Command }
  | { accepted: false; reason: string; signer?: string };

export interface DecideInput {
  text: string;
  config: BuildConfig;
  section: CommandsSectionJson;
  paths: BuildPaths;
  now: Date;
}

/**
 * The checks of docs/commands.md, in order; the first that fails is the verdict:
 * 1. canonical parse and grammar (canonical.ts, grammar.ts) — before any cryptography;
 * 2. the command's release is this env's (sys-net sends every command to every build VM);
 * 3. the signature, by a trusted command key, not from the future (verify-signature.ts);
 * 4. the signer may ask for it (authorisation.ts);
 * 5. Build-template / Build-iso timestamp within [now − 1 h, now + 5 min] (freshness.ts);
 * 6. not a replay: this signature was never accepted before (replay-store.ts), under its
 *    identity or, in a store from before that identity, its whole packet's SHA-256;
 * 7. the promotion code has no objection (not built, other commit, too young, …).
 * Accepting (remembering, queuing) is the caller's: this only reads.
 */
export async function decide(i: DecideInput): Promise<Decision> {
  let canonical: CanonicalCommand;
  try {
    canonical = parseCanonicalCommand(i.text);
  } catch (e) {
    if (e instanceof QbuildError) return { accepted: false, reason: `not a canonical signed command: ${oneLine(e)}` };
    throw e;
  }
  if (canonical.command.release !== i.config.release) {
    return { accepted: false, reason: `release ${canonical.command.release} is not this env's (${i.config.release})` };
  }
  const verdict = await verifyCommandSignature(canonical, await readCommandKeys(i.config.commandsPublicKeys), i.now);
  if (!verdict.ok) return { accepted: false, reason: verdict.reason };
  const signer = verdict.signer;
  const command = authorise(canonical.command, signer, i.section, i.config.dists.map((d) => d.name));
  if (typeof command === 'string') return { accepted: false, reason: command, signer };
  const stale = timestampRefusal(command, i.now);
  if (stale) return { accepted: false, reason: stale, signer };
  // A store kept before identities covered only the hashed part names whole packets: those count too.
  const legacy = createHash('sha256').update(canonical.packet).digest('hex');
  if (seenBefore(i.paths, canonical.digest) || seenBefore(i.paths, legacy)) {
    return { accepted: false, reason: `replay: this signature (sha256 ${canonical.digest}) was accepted before`, signer };
  }
  const refusal = promoteRefusal(i.paths, i.config, command, i.now);
  if (refusal) return { accepted: false, reason: refusal, signer };
  return { accepted: true, canonical, signer, command };
}
