import type { Command, SetExit } from './command.js';
import { pathOption } from './path-option.js';

/** `qbuild sim up|call|down`: a provisioned formula run as local qubes (design §9). */
export function simCommand(setExit: SetExit): Command {
  return {
    command: 'sim <action> [args..]',
    describe: 'local qube simulator: up | status | call --from VM TARGET SERVICE[+ARG] | exec VM -- CMD [ARGS…] | halt VM | start VM | down  (all with --formula DIR)',
    builder: (y) => y
      .positional('action', { type: 'string', choices: ['up', 'status', 'call', 'exec', 'down', 'router', 'halt', 'start'] })
      .positional('args', { type: 'string', array: true, describe: 'call: TARGET SERVICE[+ARG]; exec/halt/start: VM' })
      // exec: everything after `--` is the command, options included, untouched.
      .parserConfiguration({ 'populate--': true })
      .option('formula', { type: 'string', demandOption: true, describe: 'formula directory written by provision' })
      .option('from', { type: 'string', describe: 'calling qube (call)' })
      .option('foreground', { type: 'boolean', default: false, describe: 'up: run the router in this process' })
      .option('daemons', { type: 'boolean', default: true, describe: 'up: start the planned daemons (--no-daemons: do not)' })
      .option('webhook-port', { type: 'string', describe: "up: sys-net's webhook listener on 127.0.0.1:PORT (default: the config's, a wildcard one on a free port)" })
      .option('live-view-port', { type: 'string', describe: "up: the logs qube's live view on 127.0.0.1:PORT" }),
    handler: async (a: { '--'?: (string | number)[]; webhookPort?: string; liveViewPort?: string; action: string; formula: string; from?: string; foreground: boolean; daemons: boolean; args?: (string | number)[] }) => {
      pathOption('formula', a.formula, 'usage: qbuild sim ACTION --formula DIR (see qbuild sim --help)');
      const sim = await import('../protocol/qrexec/sim/commands.js');
      const rest = (a.args ?? []).map(String);
      switch (a.action) {
        case 'up': {
          const { parsePort } = await import('../protocol/qrexec/sim/first-boot.js');
          const ports = { webhook: parsePort('webhook-port', a.webhookPort), liveView: parsePort('live-view-port', a.liveViewPort) };
          setExit(await sim.simUp(a.formula, { foreground: a.foreground, daemons: a.daemons, ports }));
          break;
        }
        case 'router': setExit(await sim.simRouter(a.formula, a.daemons)); break;
        case 'status': setExit(sim.simStatus(a.formula)); break;
        case 'down': setExit(await sim.simDown(a.formula)); break;
        case 'exec': setExit(await (await import('../protocol/qrexec/sim/exec.js')).simExec(a.formula, rest, (a['--'] ?? []).map(String))); break;
        case 'halt': setExit(await sim.simPower(a.formula, rest[0], true)); break;
        case 'start': setExit(await sim.simPower(a.formula, rest[0], false)); break;
        default: setExit(await sim.simCall(a.formula, a.from, rest));
      }
    },
  };
}
