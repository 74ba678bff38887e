import type { Plan, PlannedVm } from '../roles/dom0/plan.js';
import { saltYaml } from './yaml-out.js';

type States = Record<string, Record<string, unknown[]>>;

/**
 * dom0's states (upstream build-infra/dom0.sls form): one `qvm.vm` per VM qbuild creates, the
 * state ID being the VM name (`present: label`, `prefs: template, netvm`; `netvm: none` as
 * upstream writes it for keys VMs), `qvm-volume extend` where the pillar sets a size, a check
 * that the existing net qube is there, and the policy file.
 */
export function dom0States(plan: Plan): States {
  const states: States = {};
  for (const vm of plan.vms) {
    if (vm.existing) {
      states[`qbuild-exists-${vm.name}`] = { 'qvm.exists': [{ name: vm.name }] };
      continue;
    }
    states[vm.name] = { 'qvm.vm': vmActions(vm) };
    if (vm.volumeSize !== undefined) {
      states[`qbuild-volume-${vm.name}`] = {
        'cmd.run': [
          { name: `qvm-volume extend ${vm.name}:private ${vm.volumeSize}` },
          { require: [{ qvm: vm.name }] },
        ],
      };
    }
  }
  states[plan.policy.path] = {
    'file.managed': [
      { contents: plan.policy.text },
      { user: 'root' }, { group: 'qubes' }, { mode: '0664' }, { makedirs: true },
    ],
  };
  return states;
}

function vmActions(vm: PlannedVm): unknown[] {
  const prefs: Record<string, string>[] = [];
  if (vm.template !== null) prefs.push({ template: vm.template });
  prefs.push({ netvm: vm.netvm ?? 'none' });
  return [{ present: [{ label: vm.label }] }, { prefs }];
}

export function renderDom0Sls(plan: Plan): string {
  return saltYaml(dom0States(plan), 'qbuild: dom0 (VMs, volumes, qrexec policy)');
}
