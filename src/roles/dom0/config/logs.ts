import type { VmConfig } from '../../../protocol/plan/plan.js';
import type { Pillar } from '../pillar.js';
import { buildVmName, keysVmName } from '../vm-names.js';

/**
 * The `logs` section of a logs VM's qbuild.json: what provisioning knows. The logs role
 * (src/roles/logs/settings.ts, docs/logs.md) also accepts store, branch, socket, listen,
 * maxLineBytes, maxLogBytes, ticketTtlSeconds, noteKeyFile, noteKeyName, pgpKeyFile and
 * committer, with defaults.
 */
export interface LogsSection {
  /** Build VMs whose logs this VM stores (the envs naming it as `logs`). */
  buildVms: string[];
  /** Which keys VM gets the LogReceived ticket for a build VM. */
  keysVmFor: Record<string, string>;
  /** Where the logs git repository is pushed, if configured. */
  remote: { url: string; tokenFile: string | null } | null;
  /** The C2SP tlog-witnesses each checkpoint goes to (pillar logs-witnesses); left out when none. */
  witnesses?: { url: string; vkey: string }[];
}

export function logsVmConfig(p: Pillar, logsVm: string): VmConfig {
  const envs = p.envs.filter((e) => e.logs === logsVm);
  const remote = p.logsRemotes[logsVm];
  const logs: LogsSection = {
    buildVms: envs.map((e) => buildVmName(e.name)),
    keysVmFor: Object.fromEntries(envs.map((e) => [buildVmName(e.name), keysVmName(e.name)])),
    remote: remote ? { url: remote.url, tokenFile: remote.tokenFile ?? null } : null,
  };
  const witnesses = p.logsWitnesses?.[logsVm];
  if (witnesses?.length) logs.witnesses = witnesses;
  return { vm: logsVm, role: 'logs', logs };
}
