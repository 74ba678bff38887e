import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { configSection, stateDir } from '../../config.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import type { VmConfig } from '../dom0/plan.js';
import { parseListenAddress, type ListenAddress } from '../../util/listen-address.js';

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

const NUMBER_KEYS = ['sshPort', 'maxBodyBytes', 'queueMax', 'dedupeMemory', 'headersTimeoutMs', 'requestTimeoutMs',
  'retryBaseMs', 'retryMaxMs', 'giveUpAfterMs', 'callTimeoutMs'] as const;
const KNOWN = new Set<string>(['buildVms', 'listen', 'sshHosts', 'secretFile', ...NUMBER_KEYS]);
const HOST_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

function bad(why: string): never {
  throw new QbuildError('config', `sysnet config: ${why}`);
}

/** `listen` (and `--listen`): the rules of parseListenAddress (src/util/listen-address.ts). */
export function parseListen(value: unknown): ListenAddress {
  if (typeof value !== 'string') bad('"listen" must be a string "HOST:PORT"');
  try {
    return parseListenAddress(value);
  } catch (e) {
    return bad(`"listen": ${(e as Error).message}`);
  }
}

/**
 * A host ConnectSSH may reach: a DNS name or IPv4 literal of `[A-Za-z0-9.-]`, which is also
 * what a qrexec argument can carry (so `+HOST` in policy names it exactly).
 */
export function checkSshHost(host: string): string {
  if (!HOST_RE.test(host) || host.length > 64) bad(`ssh host ${JSON.stringify(host.slice(0, 80))} is not a host name`);
  return host;
}

function stringList(s: Record<string, unknown>, key: string, check: (v: string) => string): string[] {
  const v = s[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`"${key}" must be a list of names`);
  const out = (v as string[]).map(check);
  if (new Set(out).size !== out.length) bad(`"${key}" lists a name twice`);
  return out;
}

/**
 * Reads the `sysnet` section strictly: unknown keys are errors (a typo must not silently
 * become a default); build VM names follow Qubes' VM name rules; numbers are positive integers
 * (ports 1–65535).
 */
export function parseSysnetConfig(config: VmConfig, env: NodeJS.ProcessEnv = process.env): SysnetConfig {
  const s = configSection(config, 'sysnet');
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) bad(`unknown key "${k}"`);
  const numbers = {} as Record<(typeof NUMBER_KEYS)[number], number>;
  for (const k of NUMBER_KEYS) {
    const v = s[k] ?? SYSNET_DEFAULTS[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(`"${k}" must be a positive integer`);
    numbers[k] = v;
  }
  if (numbers.sshPort > 65535) bad('"sshPort" must be 1–65535');
  const secretFile = s.secretFile ?? join(stateDir(env), 'webhook-secret');
  if (typeof secretFile !== 'string' || !secretFile) bad('"secretFile" must be a path');
  return {
    buildVms: stringList(s, 'buildVms', checkVmName),
    listen: parseListen(s.listen ?? SYSNET_DEFAULTS.listen),
    sshHosts: stringList(s, 'sshHosts', checkSshHost),
    secretFile,
    ...numbers,
  };
}
