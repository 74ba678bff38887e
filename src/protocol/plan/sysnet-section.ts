/**
 * The `sysnet` section of sys-net's qbuild.json: what dom0 writes (src/roles/dom0/config/sysnet.ts),
 * what the Salt renderers read to deploy the listener (src/salt/sysnet-sls.ts), and the defaults
 * sys-net (src/roles/sysnet/config.ts) fills in for what the section does not say.
 */
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

/** What sys-net assumes for a key its section leaves out (the listener's nginx snippet too). */
export const SYSNET_DEFAULTS = {
  listen: '127.0.0.1:8080',
  sshPort: 22,
  maxBodyBytes: 1024 * 1024,
  queueMax: 1000,
  dedupeMemory: 10000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  retryBaseMs: 1000,
  retryMaxMs: 5 * 60_000,
  giveUpAfterMs: 7 * 24 * 3600_000,
  callTimeoutMs: 10 * 60_000,
} as const;
