import { join } from 'node:path';
import { FORMULA } from '../../plan/plan.js';
import { evaluate, type SystemInfo } from '../policy/index.js';
import { loadPolicyDir } from '../policy/load.js';

export type Decision = { action: 'allow'; target: string } | { action: 'deny'; reason: string };

/**
 * The simulator's policy decision for one call, from the formula's policy.d as it is on disk
 * now (qrexec-policy-daemon re-reads on change; re-reading per call is the same and simpler).
 * `ask` has nobody to answer it here, so it denies. A planned qube with templateForDispvms is a
 * template for disposables, so `@dispvm:NAME` targets it.
 */
export function decide(
  formula: string, source: string, req: { target: string; service: string; argument?: string },
  vms: readonly { name: string; templateForDispvms?: true }[],
): Decision {
  let policy;
  try {
    policy = loadPolicyDir(join(formula, FORMULA.policyDir));
  } catch (e) {
    return { action: 'deny', reason: `policy unreadable: ${(e as Error).message}` };
  }
  const system: SystemInfo = {
    vms: Object.fromEntries(vms.map((v) => [v.name, { type: 'AppVM', tags: [], ...(v.templateForDispvms ? { templateForDispvms: true } : {}) }])),
  };
  const d = evaluate(policy, { service: req.service, argument: req.argument, source, target: req.target }, system);
  if (d.action === 'allow') return { action: 'allow', target: d.target };
  if (d.action === 'ask') return { action: 'deny', reason: 'ask: nobody to answer in the simulator' };
  return { action: 'deny', reason: d.reason };
}
