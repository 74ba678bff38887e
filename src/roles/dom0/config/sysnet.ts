import type { VmConfig } from '../../../protocol/plan/plan.js';
import type { Pillar } from '../pillar.js';
import { buildVmName } from '../vm-names.js';

/** Upstream (ssh-proxy-dom0.sls) always allows github.com, then the pillar's remote hosts. */
export const ALWAYS_SSH_HOSTS = ['github.com'] as const;

/** The `sysnet` section of the net qube's qbuild.json. */
export interface SysnetSection {
  /** Build VMs that webhooks are forwarded to. */
  buildVms: string[];
  /** Webhook listener address (IPv4:PORT or [IPv6]:PORT). */
  listen: string;
  /** File holding the GitHub webhook secret (the listener refuses to start without one). */
  secretFile: string;
  /** Hosts local.ConnectSSH may connect to (port 22), in policy order. */
  sshHosts: string[];
}

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
