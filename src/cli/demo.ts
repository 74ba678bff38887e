import type { Command, SetExit } from './command.js';
import { notYet } from './not-yet.js';

/** `qbuild demo`: the whole pipeline in a fresh simulator. */
export function demoCommand(_setExit: SetExit): Command {
  return {
    command: 'demo',
    describe: 'run the whole pipeline in a fresh simulator, ending in a verified package',
    handler: () => notYet('qbuild demo (needs the build, keys and logs roles)'),
  };
}
