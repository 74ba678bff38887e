import { notYet } from '../../cli/not-yet.js';

/** `qbuild role sysnet ...`. Placeholder until its issue lands. */
export async function runSysnetCli(_args: string[]): Promise<number> {
  return notYet('qbuild role sysnet');
}
