import {
  checkHostKey, checkHostKeyType, checkProxyVm, checkSshHost, checkSshPath, checkSshUser,
  type SshHostKeyType,
} from './rules.js';
import { QbuildError } from '../../errors.js';

/**
 * The build qube's ssh client configuration: every connection goes through
 * `qrexec-client-vm <proxyVm> local.ConnectSSH+%h` (as upstream's qubes-infrastructure
 * build-vm-ssh-proxy state writes it), so the qrexec policy decides which hosts the build qube
 * may reach, and the host key is pinned from the pillar. Pure: values in, file text out; every
 * value passes a rule in rules.ts first, so pillar text can never add a directive.
 */

export interface SshHost { host: string; user: string }
export interface KnownHost { host: string; keyType: string; key: string }

export interface SshConfigInput {
  /** The qube offering local.ConnectSSH (sys-net). */
  proxyVm: string;
  hosts: SshHost[];
  /** The only known_hosts file ssh consults (renderKnownHosts' output). */
  knownHostsFile: string;
  /** The build qube's own key; omitted = ssh's default identities. */
  identityFile?: string;
}

/**
 * Settings every host gets. Why each: no host key may be learned or replaced (StrictHostKeyChecking
 * yes, UpdateHostKeys no, no global file), the proxy leaves ssh no IP to check (CheckHostIP no),
 * nothing may prompt in a daemon (BatchMode yes), and nothing of the build qube is forwarded.
 */
function commonLines(c: SshConfigInput): string[] {
  const lines = [
    `ProxyCommand qrexec-client-vm ${c.proxyVm} local.ConnectSSH+%h`,
    'StrictHostKeyChecking yes',
    `UserKnownHostsFile ${c.knownHostsFile}`,
    'GlobalKnownHostsFile /dev/null',
    'UpdateHostKeys no',
    'CheckHostIP no',
    'BatchMode yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'ForwardAgent no',
    'ForwardX11 no',
    'ClearAllForwardings yes',
  ];
  if (c.identityFile !== undefined) lines.push(`IdentityFile ${c.identityFile}`, 'IdentitiesOnly yes');
  return lines;
}

/**
 * Renders ssh_config: one `Host` block per remote host (its user and the common settings), then
 * a `Host *` block with the same settings, so a name not listed still goes through the proxy
 * (where the policy refuses it) instead of a direct connection. A host listed twice is refused:
 * ssh would silently use the first block's user.
 */
export function renderSshConfig(c: SshConfigInput): string {
  checkProxyVm(c.proxyVm);
  checkSshPath('known_hosts path', c.knownHostsFile);
  if (c.identityFile !== undefined) checkSshPath('identity path', c.identityFile);
  const seen = new Set<string>();
  for (const h of c.hosts) {
    checkSshHost(h.host);
    checkSshUser(h.user);
    if (seen.has(h.host)) throw new QbuildError('config', `ssh host "${h.host}" listed twice`);
    seen.add(h.host);
  }
  const common = commonLines(c).map((l) => `    ${l}`);
  const out = ['# Written by qbuild: every host is reached over qrexec local.ConnectSSH, host keys pinned.'];
  for (const h of c.hosts) out.push(`Host ${h.host}`, `    User ${h.user}`, ...common);
  out.push('Host *', ...common);
  return out.join('\n') + '\n';
}

/**
 * Renders known_hosts: `HOST TYPE KEY` per pinned key (a host may have several types). Plain
 * names, port 22: the ProxyCommand hides the real port from ssh, which looks keys up by name.
 */
export function renderKnownHosts(hosts: KnownHost[]): string {
  return hosts.map((h) => {
    checkSshHost(h.host);
    const type: SshHostKeyType = checkHostKeyType(h.keyType);
    return `${h.host} ${type} ${checkHostKey(type, h.key)}\n`;
  }).join('');
}
