import type { BuildSectionJson } from '../../../protocol/build/section.js';
import type { CommandsSectionJson } from '../../../protocol/github/command/authorisation.js';
import type { VmConfig } from '../../../protocol/plan/plan.js';
import type { BuildEnv, Pillar } from '../pillar.js';
import { buildVmName, dvmVmName, keysVmName } from '../vm-names.js';

/**
 * The `build` section of a build VM's qbuild.json (format: src/protocol/build/section.ts):
 * everything the build role needs, defaults filled in. The build role parses it strictly
 * (src/roles/build/config.ts) rather than trusting the file.
 */
export function buildVmConfig(p: Pillar, env: BuildEnv): VmConfig {
  const byName = new Map(p.components.map((c) => [c.name, c]));
  const userOf = new Map(p.remoteHosts.map((h) => [h.host, h.sshUser]));
  const upload: BuildSectionJson['upload'] = {};
  for (const format of ['rpm', 'deb'] as const) {
    const t = env.upload[format];
    // The pillar checked that the host is a remote-hosts entry.
    if (t) upload[format] = { host: t.host, user: userOf.get(t.host)!, path: t.path };
  }
  const build: BuildSectionJson = {
    logsVm: env.logs,
    keysVm: keysVmName(env.name),
    release: env.release,
    dists: env.dists.map((d) => d.name),
    // The pillar checked that each listed component has settings.
    components: env.components.map((name) => structuredClone(byName.get(name)!)),
    maintainerKeys: p.maintainerKeys ?? null,
    signKey: env.signKey ?? null,
    repository: env.repository,
    upload,
    sshProxyVm: p.netvm,
    remoteHosts: p.remoteHosts.map((h) => ({ host: h.host, user: h.sshUser, keyType: h.sshHostEnc, key: h.sshHostKey })),
    commandsPublicKeys: p.commandsPublicKeys ?? null,
    ...(env.minAgeDays !== undefined ? { minAgeDays: env.minAgeDays } : {}),
    ...(env.executor === 'dispvm' ? { executor: { kind: 'dispvm' as const, dvm: dvmVmName(env.name) } } : {}),
    ...(env.templates ? { templates: structuredClone(env.templates) } : {}),
    ...(env.iso ? { iso: structuredClone(env.iso) } : {}),
    ...(p.githubReport ? { github: structuredClone(p.githubReport) } : {}),
  };
  // What each command signer may ask for (docs/commands.md): read by the build role's ProcessGithubCommand.
  const commands: CommandsSectionJson = structuredClone(p.commandMaintainers);
  return { vm: buildVmName(env.name), role: 'build', env: env.name, build, commands };
}
