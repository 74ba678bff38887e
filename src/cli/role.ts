import { QbuildError } from '../errors.js';
import type { Command, SetExit } from './command.js';
import { setRoleLabel } from './report.js';

/** Each role's own command line, loaded only when that role is named. */
const ROLES: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
  logs: async () => (await import('../roles/logs/cli.js')).runLogsCli,
  keys: async () => (await import('../roles/keys/cli.js')).runKeysCli,
  sysnet: async () => (await import('../roles/sysnet/cli.js')).runSysnetCli,
  build: async () => (await import('../roles/build/cli.js')).runBuildCli,
};

export const ROLE_NAMES: readonly string[] = Object.keys(ROLES);

export function isRoleName(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(ROLES, name);
}

/**
 * Runs one role's own command line. cli.ts calls this before yargs whenever a role is named,
 * so `help`, `--help` and unknown flags after `role NAME` reach the role, which answers them.
 */
export async function runRole(name: string, args: string[]): Promise<number> {
  setRoleLabel(name);
  const load = ROLES[name];
  if (!load) throw new QbuildError('usage', `unknown role ${name}`);
  return (await load())(args);
}

/** `qbuild role ROLE ...`: daemons and admin commands of one role (listed in `qbuild --help`). */
export function roleCommand(setExit: SetExit): Command {
  return {
    command: 'role <name> [args..]',
    describe: `role commands: ${Object.keys(ROLES).join(', ')} (e.g. role logs --serve)`,
    builder: (y) => y.positional('name', { type: 'string', choices: Object.keys(ROLES) })
      .parserConfiguration({ 'unknown-options-as-args': true }).strictOptions(false),
    handler: async (a: { name: string; args?: (string | number)[] }) => {
      setExit(await runRole(a.name, (a.args ?? []).map(String)));
    },
  };
}
