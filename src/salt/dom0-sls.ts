import type { Plan, PlannedVm } from '../protocol/plan/plan.js';
import { volumeSizeBytes } from './volume-size.js';
import { webhookShape } from './sysnet-sls.js';
import type { SysnetSection } from '../protocol/plan/sysnet-section.js';
import { saltYaml } from './yaml-out.js';

type States = Record<string, Record<string, unknown[]>>;

/**
 * dom0's states (upstream build-infra/dom0.sls form): one `qvm.vm` per VM qbuild creates, the
 * state ID being the VM name (`present: label`, `prefs: template, netvm`; `netvm: none` as
 * upstream writes it for keys VMs), `qvm-volume extend` where the pillar sets a size, a check
 * that the existing net qube is there (and nginx in its template when nginx fronts the
 * listener), and the policy file. Every cmd.run carries an `unless`, so a second apply changes
 * nothing.
 */
export function dom0States(plan: Plan): States {
  const states: States = {};
  for (const vm of plan.vms) {
    if (vm.existing) {
      states[`qbuild-exists-${vm.name}`] = { 'qvm.exists': [{ name: vm.name }] };
      if (vm.role === 'sysnet' && webhookShape((vm.config.sysnet as SysnetSection).listen).nginx) {
        states[`qbuild-nginx-template-${vm.name}`] = templateNginxState(vm.name);
      }
      continue;
    }
    states[vm.name] = { 'qvm.vm': vmActions(vm) };
    if (vm.volumeSize !== undefined) {
      states[`qbuild-volume-${vm.name}`] = {
        'cmd.run': [
          { name: `qvm-volume extend ${vm.name}:private ${vm.volumeSize}` },
          // Extending to the current size or shrinking is an error: only when it is smaller.
          { unless: `test "$(qvm-volume info ${vm.name}:private size)" -ge ${volumeSizeBytes(vm.volumeSize)}` },
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

/** nginx's package name on Fedora and Debian templates alike; the template's own manager installs it. */
const NGINX_INSTALL = 'if command -v dnf >/dev/null; then dnf -y install nginx; else apt-get update && apt-get -y install nginx; fi';

/**
 * The existing net qube's root comes from its template (reset at every boot), so nginx goes
 * into that template, found at apply time (`qvm-prefs VM template`; the pillar does not name
 * it). The template is shut down afterwards: the net qube sees nginx from its next boot on
 * (its own sls installs it for the current boot).
 */
function templateNginxState(netvm: string): Record<string, unknown[]> {
  const inTemplate = (cmd: string) => `qvm-run --pass-io --no-gui --user root "$(qvm-prefs ${netvm} template)" '${cmd}'`;
  return {
    'cmd.run': [
      { name: `${inTemplate(NGINX_INSTALL)} && qvm-shutdown --wait "$(qvm-prefs ${netvm} template)"` },
      { unless: `${inTemplate('command -v nginx')} >/dev/null` },
      { require: [{ qvm: `qbuild-exists-${netvm}` }] },
    ],
  };
}

function vmActions(vm: PlannedVm): unknown[] {
  const prefs: Record<string, string | boolean>[] = [];
  if (vm.template !== null) prefs.push({ template: vm.template });
  prefs.push({ netvm: vm.netvm ?? 'none' });
  // A disposable template (upstream qvm.vm: `template_for_dispvms: True` in prefs).
  if (vm.templateForDispvms) prefs.push({ template_for_dispvms: true });
  return [{ present: [{ label: vm.label }] }, { prefs }];
}

export function renderDom0Sls(plan: Plan): string {
  return saltYaml(dom0States(plan), 'qbuild: dom0 (VMs, volumes, qrexec policy)');
}
