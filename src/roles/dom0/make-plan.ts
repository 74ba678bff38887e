import { POLICY_PATH, renderPolicy, type PolicyInput } from '../../salt/policy.js';
import { buildTemplatePackages } from '../../salt/template-sls.js';
import { buildVmConfig } from './config/build.js';
import { buildSshFiles } from './config/build-ssh.js';
import { keysVmConfig } from './config/keys.js';
import { logsVmConfig } from './config/logs.js';
import { sshHosts, sysnetVmConfig } from './config/sysnet.js';
import type { Pillar } from './pillar.js';
import type { Plan, PlannedVm } from '../../protocol/plan/plan.js';
import { buildVmName, dvmVmName, keysVmName } from './vm-names.js';

/** Services each role offers: one rpc stub each (design §5, callee column). */
export const ROLE_SERVICES = {
  build: ['qubesbuilder.TriggerBuild', 'qubesbuilder.ProcessGithubCommand'],
  keys: ['qubes.Gpg', 'qubesbuilder.LogReceived'],
  logs: ['qubesbuilder.BuildLog'],
  sysnet: ['local.ConnectSSH'],
  dispvm: ['qubesbuilder.RunRecipe'],
} as const;

/** Distinct logs VMs, in the order the envs first name them. */
export function logsVms(p: Pillar): string[] {
  return [...new Set(p.envs.map((e) => e.logs))];
}

export function policyInput(p: Pillar): PolicyInput {
  return {
    envs: p.envs.map((e) => ({
      env: e.name, buildVm: buildVmName(e.name), keysVm: keysVmName(e.name), logsVm: e.logs,
      ...(e.executor === 'dispvm' ? { dvm: dvmVmName(e.name) } : {}),
    })),
    netvm: p.netvm,
    sshHosts: sshHosts(p),
  };
}

/**
 * An env's disposable template (`executor: dispvm`): an AppVM on the build template with no
 * network and template_for_dispvms, offering only qubesbuilder.RunRecipe; it runs nothing
 * itself. Its disposables are what the build qube's recipes run in (docs/build.md Executors).
 */
function dvmPlan(p: Pillar, env: string): PlannedVm {
  const name = dvmVmName(env);
  return {
    name, role: 'dispvm', env, label: 'red', template: p.buildTemplate, netvm: null, templateForDispvms: true,
    services: [...ROLE_SERVICES.dispvm], daemons: [], config: { vm: name, role: 'dispvm', env },
  };
}

/**
 * pillar → plan (upstream build-infra/dom0.sls): per env a build VM (green, build template,
 * build netvm; the build daemon; ~/.ssh for uploads) and a keys VM (black, keys template, no network); one logs VM per distinct
 * `logs` (green, logs template, logs netvm); the existing net qube, configured only; and the
 * packages the build template needs.
 */
export function makePlan(p: Pillar): Plan {
  const vms: PlannedVm[] = [];
  for (const env of p.envs) {
    vms.push({
      name: buildVmName(env.name), role: 'build', env: env.name, label: 'green',
      template: p.buildTemplate, netvm: p.buildNetvm,
      ...(env.volumeSize !== undefined ? { volumeSize: env.volumeSize } : {}),
      services: [...ROLE_SERVICES.build], daemons: [['role', 'build', '--serve']], config: buildVmConfig(p, env),
      homeFiles: buildSshFiles(p),
    });
    if (env.executor === 'dispvm') vms.push(dvmPlan(p, env.name));
    vms.push({
      name: keysVmName(env.name), role: 'keys', env: env.name, label: 'black',
      template: p.keysTemplate, netvm: null,
      services: [...ROLE_SERVICES.keys], config: keysVmConfig(p, env),
      ...(p.keysService === 'socket'
        ? { socketServices: [...ROLE_SERVICES.keys], daemons: [['role', 'keys', '--serve']] }
        : { daemons: [] }),
    });
  }
  for (const logs of logsVms(p)) {
    vms.push({
      name: logs, role: 'logs', label: 'green', template: p.logsTemplate, netvm: p.logsNetvm,
      services: [...ROLE_SERVICES.logs], daemons: [['role', 'logs', '--serve']], config: logsVmConfig(p, logs),
    });
  }
  vms.push({
    name: p.netvm, role: 'sysnet', label: 'red', template: null, netvm: null, existing: true,
    services: [...ROLE_SERVICES.sysnet], daemons: [['role', 'sysnet', '--serve']], config: sysnetVmConfig(p),
  });
  const templates = [{ name: p.buildTemplate, role: 'build' as const, packages: buildTemplatePackages(p.buildTemplate) }];
  return { format: 'qbuild-plan-1', policy: { path: POLICY_PATH, text: renderPolicy(policyInput(p)) }, vms, templates };
}
