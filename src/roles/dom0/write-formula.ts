import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { renderFormula } from '../../salt/formula.js';
import { POLICY_FILE } from '../../salt/policy.js';
import { rpcStub } from '../../salt/rpc-stub.js';
import { FORMULA, type Plan } from '../../protocol/plan/plan.js';

export interface WriteResult { files: number; vms: number; binary: string | null }

/** What `provision` owns in an output directory; a re-run replaces exactly these. */
const OWNED = [FORMULA.plan, FORMULA.policyDir, FORMULA.files, FORMULA.salt, FORMULA.pillar];

/**
 * Writes a formula directory (layout: FORMULA in plan.ts). Refuses a non-empty directory that
 * is not a previous formula (no plan.json), so a typo in --out cannot clobber other files.
 */
export function writeFormula(out: string, plan: Plan, pillarText: string, binary: string | null): WriteResult {
  let entries: string[] = [];
  try {
    if (existsSync(out)) entries = readdirSync(out);
  } catch (e) {
    throw new QbuildError('io', `cannot use ${out} as the formula directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (entries.length > 0 && !entries.includes(FORMULA.plan)) {
    throw new QbuildError('io', `${out} is not empty and holds no ${FORMULA.plan}: refusing to write a formula there`);
  }
  let files = 0;
  const put = (rel: string, text: string, mode = 0o644) => {
    const path = join(out, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    files++;
  };
  try {
    for (const rel of OWNED) rmSync(join(out, rel), { recursive: true, force: true });
    put(FORMULA.plan, `${JSON.stringify(plan, null, 2)}\n`);
    put(join(FORMULA.policyDir, POLICY_FILE), plan.policy.text);
    for (const vm of plan.vms) {
      for (const service of vm.services) put(join(FORMULA.files, vm.name, FORMULA.rpcDir, service), rpcStub(service), 0o755);
      put(join(FORMULA.files, vm.name, FORMULA.vmConfig), `${JSON.stringify(vm.config, null, 2)}\n`);
      for (const f of vm.homeFiles ?? []) put(join(FORMULA.files, vm.name, FORMULA.homeDir, f.path), f.text, Number.parseInt(f.mode, 8));
    }
    const formula = renderFormula(plan, pillarText);
    for (const f of formula.salt) put(join(FORMULA.salt, f.path), f.text);
    for (const f of formula.pillar) put(join(FORMULA.pillar, f.path), f.text);
    if (binary) {
      const dest = join(out, FORMULA.binary);
      mkdirSync(dirname(dest), { recursive: true });
      copyFileSync(binary, dest);
      chmodSync(dest, 0o755);
      files++;
    }
  } catch (e) {
    if (e instanceof QbuildError) throw e;
    throw new QbuildError('io', `cannot write formula to ${out}: ${(e as Error).message}`);
  }
  return { files, vms: plan.vms.length, binary };
}
