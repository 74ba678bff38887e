import { readFileSync } from 'node:fs';
import { QbuildError } from './errors.js';
import { IN_QUBE, type Role, type VmConfig } from './roles/dom0/plan.js';

/**
 * The qube's own configuration and state directory. In a real qube these are the provisioned
 * paths (IN_QUBE); the simulator points QBUILD_CONFIG and QBUILD_STATE at the qube's directory.
 */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.QBUILD_CONFIG || IN_QUBE.config;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.QBUILD_STATE || IN_QUBE.state;
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
  const roles: Role[] = ['build', 'keys', 'logs', 'sysnet'];
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
