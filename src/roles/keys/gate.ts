import type { SignForm } from '../../protocol/signform.js';
import { FORM_TOKEN, formDigest } from '../../protocol/signform.js';
import { QbuildError } from '../../errors.js';
import type { KeysConfig } from './keys-config.js';
import type { TicketStore, Grant } from './ticket-store.js';

export type GateDecision =
  | { ok: true; form: SignForm; sha256: string; grant: Grant | undefined; how: 'ticket' | 'window' }
  | { ok: false; form: SignForm; sha256: string; reason: string };

/**
 * The signing gate (design §6, docs/gate.md). Rules:
 * - The caller must be the build VM this keys VM serves (config keys.buildVm).
 * - gate `ticket` (the default): the digest of the bytes to sign *in the form the requested
 *   signature binds* (`form`: binary, text or clearsign, src/protocol/signform.ts) must be
 *   listed in that form in a ticket for that caller, and the ticket must not have expired.
 *   So no signature made here verifies for bytes whose digest in its form is in no ticket.
 *   Text a form cannot bind (a line GnuPG would truncate) is refused.
 * - gate `window` (explicit opt-in only, upstream's behaviour): an empty LogReceived for the
 *   caller within the last windowSeconds allows any bytes.
 */
export function checkGate(config: KeysConfig, store: TicketStore, caller: string, form: SignForm, data: Buffer, now = Date.now()): GateDecision {
  let sha256: string;
  try {
    sha256 = formDigest(form, data);
  } catch (e) {
    if (e instanceof QbuildError) return { ok: false, form, sha256: '', reason: e.message };
    throw e;
  }
  const named = `${FORM_TOKEN[form]}:${sha256}`;
  if (caller !== config.buildVm) return { ok: false, form, sha256, reason: `${caller} is not the build VM this keys VM signs for (${config.buildVm})` };
  if (config.gate === 'window') {
    const opened = store.windowOpenedAt(caller);
    if (opened !== undefined && now - opened <= config.windowSeconds * 1000) return { ok: true, form, sha256, grant: undefined, how: 'window' };
    return { ok: false, form, sha256, reason: `gate window: no LogReceived for ${caller} in the last ${config.windowSeconds} s` };
  }
  const grant = store.grant(caller, form, sha256);
  if (!grant) return { ok: false, form, sha256, reason: `no ticket for ${named} from ${caller}` };
  if (Date.parse(grant.expires) <= now) return { ok: false, form, sha256, reason: `ticket for ${named} (${grant.label}) expired at ${grant.expires}` };
  return { ok: true, form, sha256, grant, how: 'ticket' };
}
