import type { Command, SetExit } from './command.js';
import { pathOption } from './path-option.js';

const USAGE = 'usage: qbuild provision --pillar FILE [--out DIR] [--apply | --dry-run]';

/** `qbuild provision`: pillar → plan → Salt formula, qrexec policy, rpc stubs, configs. */
export function provisionCommand(setExit: SetExit): Command {
  return {
    command: 'provision',
    describe: 'turn a pillar into a Salt formula, qrexec policy and per-qube files (dom0)',
    builder: (y) => y
      .option('pillar', { type: 'string', demandOption: true, describe: 'pillar YAML (build-infra: ...)' })
      .option('out', { type: 'string', describe: 'where to write the formula (default: ./qbuild-formula)' })
      .option('apply', { type: 'boolean', describe: 'run qubesctl to apply it (dom0 only)' })
      .option('dry-run', { type: 'boolean', describe: 'print the plan as a table, write nothing' })
      .conflicts('apply', 'dry-run'),
    handler: async (a: { pillar: string; out?: string; apply?: boolean; dryRun?: boolean }) => {
      const { runProvision } = await import('../roles/dom0/provision.js');
      const pillar = pathOption('pillar', a.pillar, USAGE)!;
      const out = pathOption('out', a.out, USAGE) ?? 'qbuild-formula';
      setExit(await runProvision({ pillar, out, apply: a.apply === true, dryRun: a.dryRun === true }));
    },
  };
}
