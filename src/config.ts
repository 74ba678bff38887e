import { existsSync, readFileSync } from 'node:fs';
import { QbuildError } from './errors.js';
import { IN_QUBE, type Role, type VmConfig } from './protocol/plan/plan.js';

/**
 * What a command that needs a qube's config or state says outside a qube: there is no host
 * default to fall back to (a key imported on a dev box must not land in ~user/qbuild).
 */
export const NO_CONFIG = 'no qbuild config here: run this inside a provisioned qube, or on a dev box with `qbuild sim exec --formula F VM -- …`';

/**
 * The qube's own configuration file. In a real qube it is the provisioned path (IN_QUBE); the
 * simulator points QBUILD_CONFIG at the qube's directory. Rule: QBUILD_CONFIG if set, else
 * IN_QUBE.config if it exists, else the one-line NO_CONFIG refusal (exit 2).
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QBUILD_CONFIG) return env.QBUILD_CONFIG;
  if (existsSync(IN_QUBE.config)) return IN_QUBE.config;
  throw new QbuildError('config', NO_CONFIG);
}

/**
 * The qube's state directory. Rule: QBUILD_STATE if set (the simulator sets it); else the
 * provisioned IN_QUBE.state, but only where the qube's config file exists, so a command run
 * on a host by mistake refuses (NO_CONFIG) instead of creating state there.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QBUILD_STATE) return env.QBUILD_STATE;
  if (!existsSync(configPath(env))) throw new QbuildError('config', NO_CONFIG);
  return IN_QUBE.state;
}

/** Loads and checks the VM config: a JSON object naming this VM and its role. */
export function loadVmConfig(env: NodeJS.ProcessEnv = process.env): VmConfig {
  const path = configPath(env);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new QbuildError('config', `cannot read config ${path}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new QbuildError('config', `${path}: not a JSON object`);
  const c = raw as Record<string, unknown>;
  const roles: Role[] = ['build', 'keys', 'logs', 'sysnet', 'dispvm'];
  if (typeof c.vm !== 'string' || !c.vm) throw new QbuildError('config', `${path}: "vm" missing`);
  if (!roles.includes(c.role as Role)) throw new QbuildError('config', `${path}: "role" must be one of ${roles.join(', ')}`);
  return c as VmConfig;
}

/** The role's section of the config, or an error naming what is missing. */
export function configSection(config: VmConfig, name: string): Record<string, unknown> {
  const s = config[name];
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new QbuildError('config', `config has no "${name}" section`);
  return s as Record<string, unknown>;
}
