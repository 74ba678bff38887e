import { configPath, configSection, loadVmConfig } from '../../config.js';
import { ConfigReader } from '../../util/config-reader.js';

/**
 * What the keys VM demands of a ticket's ledger proof (the `keys` section; provision writes
 * these from the pillar, docs/pillar.md):
 *   acceptV1Tickets  take `qbuild-ticket v1` (no ledger proof) too; default false
 *   witnesses        witness verifier keys (C2SP vkeys, signature type 0x04); default none
 *   witnessQuorum    how many distinct configured witnesses must have cosigned the checkpoint
 */
export interface LedgerPolicy {
  acceptV1Tickets: boolean;
  /** The origin line the logs VM's checkpoints carry: `qbuild.logs/<logsVm>` (docs/logs.md, Ledger). */
  ledgerOrigin: string;
  witnesses: string[];
  witnessQuorum: number;
}

/** The `keys` keys this file reads (for a reader that refuses unknown keys). */
export const LEDGER_POLICY_KEYS = ['acceptV1Tickets', 'witnesses', 'witnessQuorum'] as const;

/**
 * Reads the ledger policy from the `keys` section (src/util/config-reader.ts; keys-config.ts
 * refuses the section's unknown keys). Rules: acceptV1Tickets a boolean; witnesses a list of
 * distinct non-empty strings (each parsed as a vkey when a ticket is checked); witnessQuorum
 * a whole number from 0 to the number of witnesses (absent = 0 with no witnesses, all of them
 * with some: listing a witness means requiring it unless a smaller quorum is said). `file` is
 * the config's path, for messages.
 */
export function parseLedgerPolicy(s: Record<string, unknown>, logsVm: string, file?: string): LedgerPolicy {
  const r = new ConfigReader(file);
  const v1 = s.acceptV1Tickets ?? false;
  const acceptV1Tickets = typeof v1 === 'boolean' ? v1 : r.fail('keys.acceptV1Tickets', 'must be true or false');
  const w = s.witnesses ?? [];
  if (!Array.isArray(w) || !w.every((x) => typeof x === 'string' && x.trim() !== '')) r.fail('keys.witnesses', 'must be a list of witness verifier keys');
  const witnesses = (w as string[]).map((x) => x.trim());
  if (new Set(witnesses).size !== witnesses.length) r.fail('keys.witnesses', 'lists a key twice');
  const witnessQuorum = r.int('keys.witnessQuorum', s.witnessQuorum ?? witnesses.length, 0, witnesses.length);
  return { acceptV1Tickets, ledgerOrigin: `qbuild.logs/${logsVm}`, witnesses, witnessQuorum };
}

export function loadLedgerPolicy(logsVm: string, env: NodeJS.ProcessEnv = process.env): LedgerPolicy {
  return parseLedgerPolicy(configSection(loadVmConfig(env), 'keys'), logsVm, configPath(env));
}
