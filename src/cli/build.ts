import type { Command, SetExit } from './command.js';
import { notYet } from './not-yet.js';

/** `qbuild build COMPONENT`: manual build, same path as a triggered one. */
export function buildCommand(_setExit: SetExit): Command {
  return {
    command: 'build <component>',
    describe: 'build one component in this build VM (same path as a triggered build)',
    builder: (y) => y.positional('component', { type: 'string' }),
    handler: () => notYet('qbuild build (build role)'),
  };
}
