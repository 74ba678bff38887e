import type { VmConfig } from '../../../protocol/plan/plan.js';
import type { BuildEnv, Pillar } from '../pillar.js';
import { buildVmName, keysVmName } from '../vm-names.js';

/** The `keys` section of a keys VM's qbuild.json. */
export interface KeysSection {
  /** The only VM this keys VM signs for. */
  buildVm: string;
  /** The only VM whose LogReceived tickets it accepts. */
  logsVm: string;
  /** `ticket` (design §6) unless the pillar opted into the legacy `window`. */
  gate: 'ticket' | 'window';
  /**
   * The logs VM's note verifier key (C2SP signed note, `<name>+<hash8>+<base64>`), from the
   * pillar's `logs-public-keys`: the keys VM verifies LogReceived tickets with it (docs/gate.md).
   */
  logsPublicKey: string | null;
  /** From the env's accept-v1-tickets, witnesses and witness-quorum, when the pillar sets them (src/roles/keys/ledger-policy.ts). */
  acceptV1Tickets?: boolean;
  witnesses?: string[];
  witnessQuorum?: number;
}

export function keysVmConfig(p: Pillar, env: BuildEnv): VmConfig {
  const keys: KeysSection = {
    buildVm: buildVmName(env.name),
    logsVm: env.logs,
    gate: env.gate,
    logsPublicKey: p.logsPublicKeys[env.logs] ?? null,
  };
  if (env.acceptV1Tickets !== undefined) keys.acceptV1Tickets = env.acceptV1Tickets;
  if (env.witnesses !== undefined) keys.witnesses = env.witnesses;
  if (env.witnessQuorum !== undefined) keys.witnessQuorum = env.witnessQuorum;
  return { vm: keysVmName(env.name), role: 'keys', env: env.name, keys };
}
