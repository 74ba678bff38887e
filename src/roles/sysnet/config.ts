import { join } from 'node:path';
import { configPath, loadVmConfig, stateDir } from '../../config.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import type { VmConfig } from '../../protocol/plan/plan.js';
import { SYSNET_DEFAULTS } from '../../protocol/plan/sysnet-section.js';
import { ConfigReader } from '../../util/config-reader.js';
import type { ListenAddress } from '../../util/listen-address.js';

export type { ListenAddress };

/** The `sysnet` section of sys-net's qbuild.json, with defaults filled in. */
export interface SysnetConfig {
  /** Build VMs that get every accepted webhook, in order. */
  buildVms: string[];
  listen: ListenAddress;
  /** Hosts local.ConnectSSH may reach (exact names). */
  sshHosts: string[];
  /** TCP port ConnectSSH connects to (22; tests point it at a local echo server). */
  sshPort: number;
  /** File holding the webhook secret shared with GitHub. Default: <state>/webhook-secret. */
  secretFile: string;
  /** Largest accepted request body; more is answered 413. */
  maxBodyBytes: number;
  /** Most deliveries waiting to be forwarded; more are answered 503. */
  queueMax: number;
  /** Delivery GUIDs remembered after forwarding, to refuse redeliveries. */
  dedupeMemory: number;
  /** Slow-client limits: all headers within headersTimeoutMs, the whole request within requestTimeoutMs. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Per-VM retry backoff: base doubles per failure up to max; after giveUpAfterMs a delivery is dropped for that VM. */
  retryBaseMs: number;
  retryMaxMs: number;
  giveUpAfterMs: number;
  /** A forward call that takes longer is abandoned and retried. */
  callTimeoutMs: number;
}


const KNOWN = ['buildVms', 'listen', 'sshHosts', 'sshPort', 'secretFile', 'maxBodyBytes', 'queueMax', 'dedupeMemory',
  'headersTimeoutMs', 'requestTimeoutMs', 'retryBaseMs', 'retryMaxMs', 'giveUpAfterMs', 'callTimeoutMs'] as const;
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * A host ConnectSSH may reach: a DNS name or IPv4 literal of `[A-Za-z0-9.-]`, at most 64
 * characters, which is also what a qrexec argument can carry (so `+HOST` in policy names it
 * exactly).
 */
export function checkSshHost(host: string): string {
  if (!HOST_RE.test(host) || host.length > 64) throw new Error(`${JSON.stringify(host.slice(0, 80))} is not a host name`);
  return host;
}

/**
 * Reads the `sysnet` section strictly (src/util/config-reader.ts): unknown keys are errors (a
 * typo must not silently become a default); build VM names follow Qubes' VM name rules and
 * ssh hosts checkSshHost, each listed once; `sshPort` is a port 1–65535; `secretFile` an
 * absolute path; sizes, counts and durations (`…Ms`) are whole numbers of at least 1.
 * `file` is the config's path, for messages.
 */
export function parseSysnetConfig(config: VmConfig, env: NodeJS.ProcessEnv = process.env, file?: string): SysnetConfig {
  const r = new ConfigReader(file);
  const s = r.object('sysnet', r.present('sysnet', config.sysnet), KNOWN);
  const D = SYSNET_DEFAULTS;
  const ms = (k: 'headersTimeoutMs' | 'requestTimeoutMs' | 'retryBaseMs' | 'retryMaxMs' | 'giveUpAfterMs' | 'callTimeoutMs') =>
    r.duration(`sysnet.${k}`, s[k] ?? D[k], 'milliseconds', 1);
  return {
    buildVms: r.names('sysnet.buildVms', s.buildVms ?? [], checkVmName),
    listen: r.listen('sysnet.listen', s.listen ?? D.listen),
    sshHosts: r.names('sysnet.sshHosts', s.sshHosts ?? [], checkSshHost),
    sshPort: r.port('sysnet.sshPort', s.sshPort ?? D.sshPort),
    // Absent: the default under the state dir (not a value from the file, so not checked as one).
    secretFile: (s.secretFile ?? null) === null ? join(stateDir(env), 'webhook-secret') : r.absolutePath('sysnet.secretFile', s.secretFile),
    maxBodyBytes: r.size('sysnet.maxBodyBytes', s.maxBodyBytes ?? D.maxBodyBytes, 1),
    queueMax: r.int('sysnet.queueMax', s.queueMax ?? D.queueMax, 1, Number.MAX_SAFE_INTEGER),
    dedupeMemory: r.int('sysnet.dedupeMemory', s.dedupeMemory ?? D.dedupeMemory, 1, Number.MAX_SAFE_INTEGER),
    headersTimeoutMs: ms('headersTimeoutMs'),
    requestTimeoutMs: ms('requestTimeoutMs'),
    retryBaseMs: ms('retryBaseMs'),
    retryMaxMs: ms('retryMaxMs'),
    giveUpAfterMs: ms('giveUpAfterMs'),
    callTimeoutMs: ms('callTimeoutMs'),
  };
}

/** This qube's sysnet config (QBUILD_CONFIG / QBUILD_STATE, see src/config.ts), its path in messages. */
export function loadSysnetConfig(env: NodeJS.ProcessEnv = process.env): SysnetConfig {
  return parseSysnetConfig(loadVmConfig(env), env, configPath(env));
}
