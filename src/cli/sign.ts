import type { Command, SetExit } from './command.js';

/**
 * `qbuild sign [gpg args]`: split-gpg client, a drop-in gpg. main.ts runs it before yargs
 * is loaded (start-up matters, and its arguments are gpg's, not ours); this entry only makes
 * it appear in `qbuild --help`.
 */
export function signCommand(setExit: SetExit): Command {
  return {
    command: 'sign [gpgargs..]',
    describe: 'split-gpg client: a drop-in gpg for rpmsign, debsign and git (signs in the keys VM)',
    builder: (y) => y.parserConfiguration({ 'unknown-options-as-args': true }).strictOptions(false).help(false).version(false),
    handler: async (a: { gpgargs?: (string | number)[] }) => {
      const { runSign } = await import('../roles/build/sign/client.js');
      setExit(await runSign((a.gpgargs ?? []).map(String)));
    },
  };
}
