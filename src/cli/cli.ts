import yargs, { type CommandModule } from 'yargs';
import { QbuildError } from '../errors.js';
import { provisionCommand } from './provision.js';
import { rpcCommand } from './rpc.js';
import { roleCommand } from './role.js';
import { buildCommand } from './build.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';
import { simCommand } from './sim.js';
import { demoCommand } from './demo.js';

/** Full command line (everything but the `rpc` fast path). Handlers set the exit code. */
export async function runCli(argv: string[], version: string): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => { exitCode = code; };
  const parser = yargs(argv)
    .scriptName('qbuild')
    .usage('$0 <command> [options]\n\nQubes OS build infrastructure: build, keys, logs, sys-net and dom0 roles in one binary.')
    .command(provisionCommand(setExit) as CommandModule)
    .command(rpcCommand(setExit) as CommandModule)
    .command(roleCommand(setExit) as CommandModule)
    .command(buildCommand(setExit) as CommandModule)
    .command(signCommand(setExit) as CommandModule)
    .command(verifyCommand(setExit) as CommandModule)
    .command(simCommand(setExit) as CommandModule)
    .command(demoCommand(setExit) as CommandModule)
    .demandCommand(1, 'name a command (see --help)')
    .strictCommands()
    .strictOptions()
    .version(version)
    .help()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new QbuildError('usage', msg);
    });
  await parser.parseAsync();
  return exitCode;
}
