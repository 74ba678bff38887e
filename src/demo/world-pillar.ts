import type { Sshd } from './sshd-server.js';

/** One build environment of the dev-box world: `fedora` with dists `[vm-fc42]`, say. */
export interface WorldEnv {
  name: string;
  dists: string[];
  /** The env's `executor:` (absent: the pillar leaves it out, i.e. local). */
  executor?: 'local' | 'dispvm';
}

export interface WorldPillarInput {
  gitBase: string;
  component: string;
  /** The component's `recipe:` value, e.g. `[rpm, deb]`. */
  recipe: string;
  /** More lines for the component's settings (already indented by 6). */
  extra: string;
  maintainerKeys: string;
  maintainers: string[];
  minSignatures: number;
  envs: WorldEnv[];
  signKeys: Map<string, string>;
  sshd: Sshd;
  logsVerifierKey: string;
  /** More lines under `build-infra:` (already indented by 2), e.g. commands_public_keys. */
  extraTop?: string;
}

const indent = (text: string, n: number) => text.trimEnd().split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

/**
 * The pillar of the dev-box world, in upstream's build-infra shape plus qbuild's build keys
 * (docs/pillar.md): sources from the loopback git server, uploads to the loopback sshd
 * (`localhost`, its host key pinned), both envs streaming to one logs qube.
 */
export function worldPillar(p: WorldPillarInput): string {
  const envs = p.envs.map((e) => {
    const rpm = e.dists.some((d) => /-(fc|el|centos-stream)\d+$/.test(d));
    const upload = rpm
      ? `        rpm: {host: localhost, path: ${p.sshd.root}/yum}`
      : `        deb: {host: localhost, path: ${p.sshd.root}/deb}`;
    return `    ${e.name}:
      logs: logs
      release: r4.3
      dists: [${e.dists.join(', ')}]
      sign-key: ${p.signKeys.get(e.name)}
      components: [${p.component}]
${e.executor ? `      executor: ${e.executor}\n` : ''}      upload:
${upload}`;
  }).join('\n');
  return `build-infra:
  source-url-prefix: ${p.gitBase}/qubes-
  maintainer-keys: |
${indent(p.maintainerKeys, 4)}
  components:
    ${p.component}:
      recipe: ${p.recipe}
      maintainers: [${p.maintainers.join(', ')}]
      min-signatures: ${p.minSignatures}
${p.extra ? `${indent(p.extra, 6)}\n` : ''}  build-envs:
${envs}
  remote-hosts:
    localhost:
      ssh_user: ${p.sshd.user}
      ssh_host_enc: ${p.sshd.hostKey.type}
      ssh_host_key: ${p.sshd.hostKey.key}
  logs-public-keys:
    logs: "${p.logsVerifierKey}"
${p.extraTop ? `${p.extraTop.trimEnd()}\n` : ''}`;
}
