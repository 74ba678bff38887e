/** The demo's pillar: upstream's shape with two build environments sharing one logs qube. */
export const DEMO_PILLAR = (logsVerifierKey: string): string => `build-infra:
  build-envs:
    fedora:
      logs: logs
      components: [qbuild-demo]
    debian:
      logs: logs
      components: [qbuild-demo]
  logs-public-keys:
    logs: "${logsVerifierKey}"
`;
