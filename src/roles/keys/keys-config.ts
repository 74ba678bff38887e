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
}

/**
 * Reads and checks the `keys` section. Rules: buildVm and logsVm are non-empty strings;
 * gate is `ticket` or `window` (absent = ticket); logsPublicKey a string or null;
 * windowSeconds a positive integer when present.
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
  return { vm: config.vm, buildVm: str('buildVm'), logsVm: str('logsVm'), gate, logsPublicKey: lpk ? lpk.trim() : null, windowSeconds: ws, defaultKey: dk };
}
