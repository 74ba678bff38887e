import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { FORMULA, type Plan } from '../../plan/plan.js';

/** Reads the plan `provision` wrote. The simulator trusts nothing else about the formula. */
export function readPlan(formula: string): Plan {
  const path = join(formula, FORMULA.plan);
  let plan: Plan;
  try {
    plan = JSON.parse(readFileSync(path, 'utf8')) as Plan;
  } catch (e) {
    throw new QbuildError('config', `cannot read ${path}: ${(e as Error).message} (run qbuild provision --out ${formula} first)`);
  }
  if (plan.format !== 'qbuild-plan-1' || !Array.isArray(plan.vms)) {
    throw new QbuildError('config', `${path} is not a qbuild plan`);
  }
  return plan;
}
