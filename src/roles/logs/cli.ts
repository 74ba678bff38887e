import { notYet } from '../../cli/not-yet.js';

/** `qbuild role logs ...`. Placeholder until its issue lands. */
export async function runLogsCli(_args: string[]): Promise<number> {
  return notYet('qbuild role logs');
}
