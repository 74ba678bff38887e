import { configPath, loadVmConfig } from '../../config.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import { LEDGER_POLICY_KEYS } from './ledger-policy.js';
import { ConfigReader } from '../../util/config-reader.js';

/** The keys VM's own settings (the `keys` section written by provisioning). */
export interface KeysConfig {
  vm: string;
  /** The only build VM this keys VM signs for. */
  buildVm: string;
  /** The only VM whose LogReceived tickets are accepted. */
  logsVm: string;
  gate: 'ticket' | 'window';
  /** The logs VM's note verifier key (`<name>+<hash8>+<base64>`), or null if not provisioned. */
  logsPublicKey: string | null;
  /** Window length for `gate: window` (upstream's QUBES_GPG_AUTOACCEPT default: 300 s). */
  windowSeconds: number;
  /** The key used when a request names none and more than one key is stored. */
  defaultKey: string | undefined;
  /** qubes.Gpg: how long the header, and then each frame, may take to arrive (default 30 s). */
  idleSeconds: number;
  /** qubes.Gpg: requests this keys VM serves at once; more are refused (default 8). */
  maxConcurrentGpg: number;
}

export type GpgLimits = Pick<KeysConfig, 'idleSeconds' | 'maxConcurrentGpg'>;

/**
 * Every key the `keys` section may have; any other is refused (src/util/config-reader.ts).
 * The ledger policy's keys are read by ledger-policy.ts.
 */
const KNOWN = [
  'buildVm', 'logsVm', 'gate', 'logsPublicKey', 'windowSeconds', 'defaultKey', 'idleSeconds', 'maxConcurrentGpg',
  ...LEDGER_POLICY_KEYS,
] as const;

/** The `keys` section of a keys VM's config, its keys checked against KNOWN. */
function keysSection(r: ConfigReader, config: Record<string, unknown>): Record<string, unknown> {
  return r.object('keys', r.present('keys', config.keys), KNOWN);
}

/**
 * qubes.Gpg limits from the `keys` section (read before the request header, so apart from
 * the rest). Rules: idleSeconds a number of seconds above 0, at most 3600 (absent = 30);
 * maxConcurrentGpg a whole number 1–1000 (absent = 8).
 */
export function gpgLimits(s: Record<string, unknown>, r = new ConfigReader()): GpgLimits {
  return {
    idleSeconds: r.duration('keys.idleSeconds', s.idleSeconds ?? 30, 'seconds', 0, 3600, true),
    maxConcurrentGpg: r.int('keys.maxConcurrentGpg', s.maxConcurrentGpg ?? 8, 1, 1000),
  };
}

/** The qubes.Gpg limits of this keys VM (see gpgLimits). */
export function loadGpgLimits(env: NodeJS.ProcessEnv = process.env): GpgLimits {
  const r = new ConfigReader(configPath(env));
  return gpgLimits(keysSection(r, loadVmConfig(env)), r);
}

/**
 * Reads and checks the `keys` section (src/util/config-reader.ts). Rules: unknown keys are
 * refused; buildVm and logsVm are VM names; gate is `ticket` or `window` (absent = ticket);
 * logsPublicKey a string or null; windowSeconds a whole number of seconds of at least 1
 * (absent = 300); defaultKey a string when present; the qubes.Gpg limits as in gpgLimits.
 * `file` is the config's path, for messages.
 */
export function parseKeysConfig(config: { vm: string; [section: string]: unknown }, file?: string): KeysConfig {
  const r = new ConfigReader(file);
  const s = keysSection(r, config);
  const vm = (k: 'buildVm' | 'logsVm') => {
    const name = r.string(`keys.${k}`, s[k]);
    return r.checked(`keys.${k}`, () => checkVmName(name));
  };
  const optString = (k: string, v: unknown): string | undefined => {
    if (v === undefined || typeof v === 'string') return v;
    return r.fail(`keys.${k}`, 'must be a string');
  };
  const lpk = optString('logsPublicKey', s.logsPublicKey ?? undefined);
  const dk = optString('defaultKey', s.defaultKey);
  return {
    vm: config.vm,
    buildVm: vm('buildVm'),
    logsVm: vm('logsVm'),
    gate: r.oneOf('keys.gate', s.gate ?? 'ticket', ['ticket', 'window'] as const),
    logsPublicKey: lpk ? lpk.trim() : null,
    windowSeconds: r.duration('keys.windowSeconds', s.windowSeconds ?? 300, 'seconds', 1),
    defaultKey: dk,
    ...gpgLimits(s, r),
  };
}

/** This keys VM's settings (QBUILD_CONFIG, see src/config.ts), its path in messages. */
export function loadKeysConfig(env: NodeJS.ProcessEnv = process.env): KeysConfig {
  return parseKeysConfig(loadVmConfig(env), configPath(env));
}
