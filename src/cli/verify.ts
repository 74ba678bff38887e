import type { Command, SetExit } from './command.js';
import { notYet } from './not-yet.js';

/** `qbuild verify`: auditor's check package signature ↔ log entry ↔ checkpoint ↔ git commit. */
export function verifyCommand(_setExit: SetExit): Command {
  return {
    command: 'verify',
    describe: 'audit: package signature <-> log entry <-> checkpoint <-> signed git commit',
    handler: () => notYet('qbuild verify (transparency log)'),
  };
}
