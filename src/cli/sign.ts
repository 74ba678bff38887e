import type { Command, SetExit } from './command.js';
import { notYet } from './not-yet.js';

/**
 * `qbuild sign [gpg args]`: split-gpg client, a drop-in gpg. Its arguments are gpg's, not
 * ours, so yargs must not parse them: they are passed through untouched.
 */
export function signCommand(_setExit: SetExit): Command {
  return {
    command: 'sign [gpgargs..]',
    describe: 'split-gpg client: a drop-in gpg for rpmsign, debsign and git (signs in the keys VM)',
    builder: (y) => y.parserConfiguration({ 'unknown-options-as-args': true }).strictOptions(false).help(false).version(false),
    handler: () => notYet('qbuild sign (keys VM and split-gpg)'),
  };
}
