import type { Plan } from '../protocol/plan/plan.js';
import { renderDom0Sls } from './dom0-sls.js';
import { DOM0_SALT } from './paths.js';
import { renderPillar } from './pillar-out.js';
import { renderPillarTop, renderStateTop } from './top.js';
import { planTemplates, renderTemplateSls } from './template-sls.js';
import { renderVmSls } from './vm-sls.js';

/** A rendered file, relative to the formula directory's salt/ or pillar/ tree. */
export interface RenderedFile { path: string; text: string }

/**
 * The Salt side of a formula. Layout mirrors the dom0 roots it is copied to:
 *   salt/qbuild.top, salt/qbuild/dom0.sls, salt/qbuild/vms/<vm>.sls,
 *   salt/qbuild/templates/<role>.sls                                  → /srv/user_salt/
 *   pillar/qbuild.top, pillar/qbuild/init.sls                         → /srv/user_pillar/
 * (the formula's files/ directory becomes /srv/user_salt/qbuild/files/).
 */
export function renderFormula(plan: Plan, pillarText: string): { salt: RenderedFile[]; pillar: RenderedFile[] } {
  const n = DOM0_SALT.name;
  return {
    salt: [
      { path: `${n}.top`, text: renderStateTop(plan) },
      { path: `${n}/dom0.sls`, text: renderDom0Sls(plan) },
      ...plan.vms.map((vm) => ({ path: `${n}/vms/${vm.name}.sls`, text: renderVmSls(vm) })),
      ...planTemplates(plan).map((t) => ({ path: `${n}/templates/${t.role}.sls`, text: renderTemplateSls(t) })),
    ],
    pillar: [
      { path: `${n}.top`, text: renderPillarTop() },
      { path: `${n}/init.sls`, text: renderPillar(plan, pillarText) },
    ],
  };
}
