import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNote } from '../../../protocol/note/note.js';
import { parseCheckpoint } from '../../../protocol/tlog/checkpoint.js';
import { ledgerDir } from './ledger.js';

/** One line for `qbuild role logs status`: the last signed checkpoint (the daemon checks its signature; this only reads it). */
export function ledgerStatus(state: string): string {
  let text: string;
  try {
    text = readFileSync(join(ledgerDir(state), 'checkpoint'), 'utf8');
  } catch {
    return '(no checkpoint yet)';
  }
  try {
    const c = parseCheckpoint(parseNote(text).text);
    return `${c.origin}, checkpoint size ${c.size}, root ${c.root.toString('base64')}`;
  } catch (e) {
    return `unreadable checkpoint (${(e as Error).message})`;
  }
}
