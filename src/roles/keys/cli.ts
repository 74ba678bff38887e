import { notYet } from '../../cli/not-yet.js';

/** `qbuild role keys ...`. Placeholder until its issue lands. */
export async function runKeysCli(_args: string[]): Promise<number> {
  return notYet('qbuild role keys');
}
