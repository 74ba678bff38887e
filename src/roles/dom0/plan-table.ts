import type { Plan } from '../../protocol/plan/plan.js';

/** Aligned text table, one row per VM (for `provision --dry-run`). */
export function planTable(plan: Plan): string {
  const head = ['VM', 'ROLE', 'LABEL', 'TEMPLATE', 'NETVM', 'SERVICES', 'DAEMONS'];
  const rows = plan.vms.map((vm) => [
    vm.name,
    vm.role,
    vm.existing ? '-' : vm.label,
    vm.existing ? '(existing)' : vm.template ?? '-',
    vm.existing ? '-' : vm.netvm ?? 'none',
    vm.services.join(','),
    vm.daemons.map((d) => d.join(' ')).join(', ') || '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

/** The policy's rule lines (comments and blank lines dropped), each indented. */
export function policyLines(plan: Plan): string[] {
  return plan.policy.text.split('\n').filter((l) => l.trim() && !l.trimStart().startsWith('#'));
}
