import { renderKnownHosts, renderSshConfig } from '../../../protocol/ssh/client-config.js';
import { IN_QUBE, type HomeFile } from '../../../protocol/plan/plan.js';
import type { Pillar } from '../pillar.js';

/** Where the files land in the build qube (ssh reads ~/.ssh/config by itself). */
export const BUILD_SSH = {
  config: '.ssh/config',
  knownHosts: '.ssh/known_hosts',
  /** The upload key the build role makes under its state dir (src/roles/build/ssh-key.ts). */
  identityFile: `${IN_QUBE.state}/ssh/id_ed25519`,
} as const;

/**
 * The build qube's ~/.ssh/config and ~/.ssh/known_hosts, from `remote-hosts`: every host is
 * reached through `qrexec-client-vm <netvm> local.ConnectSSH+%h` with its host key pinned
 * (StrictHostKeyChecking yes, this known_hosts only). Rendered by src/protocol/ssh/client-config.ts.
 */
export function buildSshFiles(p: Pillar): HomeFile[] {
  const config = renderSshConfig({
    proxyVm: p.netvm,
    hosts: p.remoteHosts.map((h) => ({ host: h.host, user: h.sshUser })),
    knownHostsFile: `${IN_QUBE.home}/${BUILD_SSH.knownHosts}`,
    identityFile: BUILD_SSH.identityFile,
  });
  const knownHosts = renderKnownHosts(p.remoteHosts.map((h) => ({ host: h.host, keyType: h.sshHostEnc, key: h.sshHostKey })));
  return [
    { path: BUILD_SSH.config, text: config, mode: '0600' },
    { path: BUILD_SSH.knownHosts, text: knownHosts, mode: '0644' },
  ];
}
