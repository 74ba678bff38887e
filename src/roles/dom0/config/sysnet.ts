import type { VmConfig } from '../../../protocol/plan/plan.js';
import type { SysnetSection } from '../../../protocol/plan/sysnet-section.js';
import type { Pillar } from '../pillar.js';
import { buildVmName } from '../vm-names.js';

/** Upstream (ssh-proxy-dom0.sls) always allows github.com, then the pillar's remote hosts. */
export const ALWAYS_SSH_HOSTS = ['github.com'] as const;

/** github.com first, then the pillar's remote hosts, each once. */
export function sshHosts(p: Pillar): string[] {
  return [...new Set<string>([...ALWAYS_SSH_HOSTS, ...p.remoteHosts.map((h) => h.host)])];
}

export function sysnetVmConfig(p: Pillar): VmConfig {
  const sysnet: SysnetSection = {
    buildVms: p.envs.map((e) => buildVmName(e.name)),
    listen: p.webhook.listen,
    secretFile: p.webhook.secretFile,
    sshHosts: sshHosts(p),
  };
  return { vm: p.netvm, role: 'sysnet', sysnet };
}
