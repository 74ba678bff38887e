import type { Plan } from '../protocol/plan/plan.js';
import { DOM0_SALT } from './paths.js';
import { planTemplates, templateSlsName } from './template-sls.js';
import { saltYaml } from './yaml-out.js';

/** sls name of a qube's states (`qbuild.vms.NAME`; VM names have no `.`, see pillar-rules). */
export function vmSlsName(vm: string): string {
  return `${DOM0_SALT.name}.vms.${vm}`;
}

/** State top (`qubesctl top.enable qbuild`): dom0 gets qbuild.dom0, each qube and template its own sls. */
export function renderStateTop(plan: Plan): string {
  const base: Record<string, string[]> = { dom0: [`${DOM0_SALT.name}.dom0`] };
  for (const vm of plan.vms) base[vm.name] = [vmSlsName(vm.name)];
  for (const t of planTemplates(plan)) (base[t.name] ??= []).push(templateSlsName(t));
  return saltYaml({ base }, 'qbuild: state top file');
}

/** Pillar top (`qubesctl top.enable qbuild pillar=True`): the pillar is for dom0 only. */
export function renderPillarTop(): string {
  return saltYaml({ base: { dom0: [DOM0_SALT.name] } }, 'qbuild: pillar top file');
}
