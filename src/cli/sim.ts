import type { Command, SetExit } from './command.js';

/** `qbuild sim up|call|down`: a provisioned formula run as local qubes (DESIGN §9). */
export function simCommand(setExit: SetExit): Command {
  return {
    command: 'sim <action>',
    describe: 'local qube simulator: up --formula DIR | call --formula DIR --from VM TARGET SERVICE[+ARG] | down --formula DIR',
    builder: (y) => y
      .positional('action', { type: 'string', choices: ['up', 'call', 'down', 'router'] })
      .option('formula', { type: 'string', demandOption: true, describe: 'formula directory written by provision' })
      .option('from', { type: 'string', describe: 'calling qube (call)' })
      .option('foreground', { type: 'boolean', default: false, describe: 'up: run the router in this process' })
      .option('no-daemons', { type: 'boolean', default: false, describe: 'up: do not start the planned daemons' })
      .parserConfiguration({ 'halt-at-non-option': true }),
    handler: async (a: { action: string; formula: string; from?: string; foreground: boolean; daemons: boolean; _: (string | number)[] }) => {
      const sim = await import('../protocol/qrexec/sim/commands.js');
      const rest = a._.slice(1).map(String);
      switch (a.action) {
        case 'up': setExit(await sim.simUp(a.formula, { foreground: a.foreground, daemons: a.daemons })); break;
        case 'router': setExit(await sim.simRouter(a.formula)); break;
        case 'down': setExit(await sim.simDown(a.formula)); break;
        default: setExit(await sim.simCall(a.formula, a.from, rest));
      }
    },
  };
}
