import { readFileSync } from 'node:fs';
import { QbuildError } from '../../errors.js';
import { applyFormula, requireQubesctl } from './apply.js';
import { makePlan } from './make-plan.js';
import { loadPillar, missingLogsKeyWarnings } from './pillar.js';
import { planTable, policyLines } from './plan-table.js';
import { selfBinary } from './self-binary.js';
import { writeFormula } from './write-formula.js';

export interface ProvisionOptions { pillar: string; out: string; apply: boolean; dryRun: boolean }

/**
 * `qbuild provision`: pillar → plan → formula directory (plan.json, policy.d/, files/,
 * salt/, pillar/); `--dry-run` only prints the plan; `--apply` also runs qubesctl (dom0).
 */
export async function runProvision(o: ProvisionOptions): Promise<number> {
  let text: string;
  try {
    text = readFileSync(o.pillar, 'utf8');
  } catch (e) {
    throw new QbuildError('pillar', `cannot read pillar ${o.pillar}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const pillar = await loadPillar(text, o.pillar);
  for (const w of missingLogsKeyWarnings(pillar, o.pillar)) process.stderr.write(`qbuild: warning: ${w}\n`);
  const plan = makePlan(pillar);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  if (o.dryRun) {
    process.stdout.write(planTable(plan));
    say('');
    say(`policy ${plan.policy.path}:`);
    for (const l of policyLines(plan)) say(`  ${l}`);
    return 0;
  }

  const qubesctl = o.apply ? requireQubesctl() : null;
  const binary = selfBinary();
  const r = writeFormula(o.out, plan, text, binary);
  say(`wrote ${o.out}: ${r.vms} qubes, ${r.files} files`);
  say(`  plan.json, policy.d/30-qbuild.policy (${policyLines(plan).length} rules), files/<vm>/, salt/, pillar/`);
  say(binary ? `  files/qbuild: copied from ${binary}` : '  files/qbuild: skipped (not running as the qbuild executable)');
  if (qubesctl) applyFormula(o.out, qubesctl, { log: (l) => say(`apply: ${l}`), failure: (t) => process.stderr.write(t) });
  return 0;
}
