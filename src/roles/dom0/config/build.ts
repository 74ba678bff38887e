import type { VmConfig } from '../plan.js';
import type { BuildEnv, Pillar } from '../pillar.js';
import { buildVmName, keysVmName } from '../vm-names.js';

/** The `build` section of a build VM's qbuild.json. The build role validates it when it reads it. */
export interface BuildSection {
  /** Where `qubesbuilder.BuildLog` ends up (the call itself goes to dom0, which redirects). */
  logsVm: string;
  keysVm: string;
  /** Components this env builds; [] = none listed in the pillar. */
  components: string[];
  /** The qube offering local.ConnectSSH. */
  sshProxyVm: string;
  /** Hosts reachable over local.ConnectSSH, with their known host keys. */
  remoteHosts: { host: string; user: string; keyType: string; key: string }[];
  /** Armored OpenPGP keys trusted to sign GitHub commands (upstream commands_public_keys). */
  commandsPublicKeys: string | null;
}

export function buildVmConfig(p: Pillar, env: BuildEnv): VmConfig {
  const build: BuildSection = {
    logsVm: env.logs,
    keysVm: keysVmName(env.name),
    components: [...env.components],
    sshProxyVm: p.netvm,
    remoteHosts: p.remoteHosts.map((h) => ({ host: h.host, user: h.sshUser, keyType: h.sshHostEnc, key: h.sshHostKey })),
    commandsPublicKeys: p.commandsPublicKeys ?? null,
  };
  return { vm: buildVmName(env.name), role: 'build', env: env.name, build };
}
