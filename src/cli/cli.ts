import yargs, { type CommandModule } from 'yargs';
import { QbuildError } from '../errors.js';
import { provisionCommand } from './provision.js';
import { rpcCommand } from './rpc.js';
import { isRoleName, ROLE_NAMES, roleCommand, runRole } from './role.js';
import { buildCommand } from './build.js';
import { signCommand } from './sign.js';
import { verifyCommand } from './verify.js';
import { simCommand } from './sim.js';
import { demoCommand } from './demo.js';

/** Full command line (everything but the `rpc` fast path). Handlers set the exit code. */
export async function runCli(argv: string[], version: string): Promise<number> {
  if (argv[0] === 'role' && argv[1] !== undefined && isRoleName(argv[1])) return runRole(argv[1], argv.slice(2));
  if (argv[0] === 'role' && (argv[1] === undefined || !argv[1].startsWith('-'))) {
    const given = argv[1] === undefined ? 'name a role' : `no role ${JSON.stringify(argv[1].slice(0, 40))}`;
    throw new QbuildError('usage', `${given}: ${ROLE_NAMES.join(', ')} (see qbuild role NAME help)`);
  }
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
      throw new QbuildError('usage', nameUnknownOptions(msg, argv));
    });
  await parser.parseAsync();
  return exitCode;
}

/** yargs says `Unknown argument: bogus`; name the flag as the user typed it: `unknown option --bogus`. */
function nameUnknownOptions(msg: string, argv: string[]): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return msg;
  const typed = (n: string) => argv.find((a) => a === `--${n}` || a === `-${n}` || a.startsWith(`--${n}=`))?.replace(/=.*$/, '')
    ?? (n.length === 1 ? `-${n}` : `--${n}`);
  const names = m[1]!.split(', ').map(typed);
  return `unknown option${names.length > 1 ? 's' : ''} ${names.join(', ')} (see --help)`;
}
