import { createHash } from 'node:crypto';
import type { Plan } from '../protocol/plan/plan.js';
import { saltYaml } from './yaml-out.js';

/**
 * The Salt pillar qbuild installs: the states are rendered in full, so this only records what
 * was provisioned (for `qubesctl pillar.items` and for humans), never secrets.
 */
export function renderPillar(plan: Plan, sourceText: string): string {
  return saltYaml({
    qbuild: {
      format: plan.format,
      'pillar-sha256': createHash('sha256').update(sourceText).digest('hex'),
      policy: plan.policy.path,
      vms: plan.vms.map((v) => ({ name: v.name, role: v.role, existing: v.existing === true })),
    },
  }, 'qbuild: pillar (record of what was provisioned)');
}
