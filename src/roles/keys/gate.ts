import { createHash } from 'node:crypto';
import type { KeysConfig } from './keys-config.js';
import type { TicketStore, Grant } from './ticket-store.js';

export type GateDecision =
  | { ok: true; sha256: string; grant: Grant | undefined; how: 'ticket' | 'window' }
  | { ok: false; sha256: string; reason: string };

/**
 * The signing gate (DESIGN §6). Rules:
 * - The caller must be the build VM this keys VM serves (config keys.buildVm).
 * - gate `ticket` (the default): sha256 of the exact bytes to sign must be listed in a
 *   ticket for that caller, and the ticket must not have expired.
 * - gate `window` (explicit opt-in only, upstream's behaviour): an empty LogReceived for the
 *   caller within the last windowSeconds allows any bytes.
 */
export function checkGate(config: KeysConfig, store: TicketStore, caller: string, data: Buffer, now = Date.now()): GateDecision {
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (caller !== config.buildVm) return { ok: false, sha256, reason: `${caller} is not the build VM this keys VM signs for (${config.buildVm})` };
  if (config.gate === 'window') {
    const opened = store.windowOpenedAt(caller);
    if (opened !== undefined && now - opened <= config.windowSeconds * 1000) return { ok: true, sha256, grant: undefined, how: 'window' };
    return { ok: false, sha256, reason: `gate window: no LogReceived for ${caller} in the last ${config.windowSeconds} s` };
  }
  const grant = store.grant(caller, sha256);
  if (!grant) return { ok: false, sha256, reason: `no ticket for sha256:${sha256} from ${caller}` };
  if (Date.parse(grant.expires) <= now) return { ok: false, sha256, reason: `ticket for sha256:${sha256} (${grant.label}) expired at ${grant.expires}` };
  return { ok: true, sha256, grant, how: 'ticket' };
}
