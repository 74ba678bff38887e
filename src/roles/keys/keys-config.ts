import { QbuildError } from '../../errors.js';
import { configSection, loadVmConfig } from '../../config.js';

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
 * qubes.Gpg limits from the `keys` section (read before the request header, so apart from
 * the rest). Rules: idleSeconds a positive number ≤ 3600 (absent = 30); maxConcurrentGpg an
 * integer 1–1000 (absent = 8).
 */
export function gpgLimits(s: Record<string, unknown>): GpgLimits {
  const idle = s.idleSeconds ?? 30;
  if (typeof idle !== 'number' || !(idle > 0) || idle > 3600) throw new QbuildError('config', 'keys.idleSeconds must be a number of seconds, above 0 and at most 3600');
  const max = s.maxConcurrentGpg ?? 8;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000) throw new QbuildError('config', 'keys.maxConcurrentGpg must be an integer from 1 to 1000');
  return { idleSeconds: idle, maxConcurrentGpg: max };
}

/** The qubes.Gpg limits of this keys VM (see gpgLimits). */
export function loadGpgLimits(env: NodeJS.ProcessEnv = process.env): GpgLimits {
  return gpgLimits(configSection(loadVmConfig(env), 'keys'));
}

/**
 * Reads and checks the `keys` section. Rules: buildVm and logsVm are non-empty strings;
 * gate is `ticket` or `window` (absent = ticket); logsPublicKey a string or null;
 * windowSeconds a positive integer when present; the qubes.Gpg limits as in gpgLimits.
 */
export function loadKeysConfig(env: NodeJS.ProcessEnv = process.env): KeysConfig {
  const config = loadVmConfig(env);
  const s = configSection(config, 'keys');
  const str = (k: string) => {
    const v = s[k];
    if (typeof v !== 'string' || !v) throw new QbuildError('config', `keys.${k} must be a non-empty string`);
    return v;
  };
  const gate = s.gate ?? 'ticket';
  if (gate !== 'ticket' && gate !== 'window') throw new QbuildError('config', 'keys.gate must be "ticket" or "window"');
  const lpk = s.logsPublicKey ?? null;
  if (lpk !== null && typeof lpk !== 'string') throw new QbuildError('config', 'keys.logsPublicKey must be a string');
  const ws = s.windowSeconds ?? 300;
  if (typeof ws !== 'number' || !Number.isInteger(ws) || ws <= 0) throw new QbuildError('config', 'keys.windowSeconds must be a positive integer');
  const dk = s.defaultKey;
  if (dk !== undefined && typeof dk !== 'string') throw new QbuildError('config', 'keys.defaultKey must be a string');
  return {
    vm: config.vm, buildVm: str('buildVm'), logsVm: str('logsVm'), gate, logsPublicKey: lpk ? lpk.trim() : null, windowSeconds: ws, defaultKey: dk,
    ...gpgLimits(s),
  };
}
