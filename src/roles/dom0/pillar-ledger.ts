import { parseWitnessVerifierKey } from '../../protocol/tlog/cosignature.js';
import type { PillarReader } from './pillar-reader.js';

/**
 * A build env's demands on its logs VM's ledger (docs/pillar.md, Ledger), provisioned into
 * its keys VM's `keys` section (acceptV1Tickets, witnesses, witnessQuorum; docs/ticket.md).
 * Absent keys are left out of the keys section, so the keys VM's defaults apply: v2 tickets
 * only, no witnesses.
 */
export interface EnvLedgerSettings {
  acceptV1Tickets?: boolean;
  /** Witness vkeys (C2SP tlog-cosignature, type 0x04) whose cosignatures the keys VM counts. */
  witnesses?: string[];
  /** How many distinct listed witnesses must have cosigned a checkpoint. */
  witnessQuorum?: number;
}

export const ENV_LEDGER_KEYS = ['accept-v1-tickets', 'witnesses', 'witness-quorum'] as const;

/**
 * Rules: `accept-v1-tickets` true or false; `witnesses` a list of distinct witness vkeys
 * (`<name>+<8 hex>+<base64(0x04 || key)>`, the key hash matching); `witness-quorum` a whole
 * number from 0 to the number of witnesses, and only with witnesses (absent: all of them).
 */
export function parseEnvLedger(r: PillarReader, p: string, e: Record<string, unknown>): EnvLedgerSettings {
  const out: EnvLedgerSettings = {};
  const v1 = e['accept-v1-tickets'];
  if (v1 !== undefined) {
    if (typeof v1 !== 'boolean') r.fail(`${p}:accept-v1-tickets`, 'must be true or false');
    out.acceptV1Tickets = v1;
  }
  if (e.witnesses !== undefined) {
    const ws = r.strList(`${p}:witnesses`, e.witnesses).map((w) => w.trim());
    ws.forEach((w, i) => r.check(`${p}:witnesses:${i}`, () => parseWitnessVerifierKey(w)));
    const dup = ws.find((w, i) => ws.indexOf(w) !== i);
    if (dup) r.fail(`${p}:witnesses`, `${JSON.stringify(dup.slice(0, 60))} listed twice`);
    out.witnesses = ws;
  }
  if (e['witness-quorum'] !== undefined) {
    if (!out.witnesses) r.fail(`${p}:witness-quorum`, 'needs witnesses');
    out.witnessQuorum = r.int(`${p}:witness-quorum`, e['witness-quorum'], 0, out.witnesses.length);
  }
  return out;
}
