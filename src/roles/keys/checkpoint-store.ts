import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import type { NoteVerifier } from '../../protocol/note/note.js';
import { openCheckpoint, type Checkpoint } from '../../protocol/tlog/checkpoint.js';
import { writeAtomically } from '../../util/durable-file.js';

/** The checkpoint a keys VM holds: the newest it accepted, as the note it came in. */
export interface HeldCheckpoint {
  note: string;
  checkpoint: Checkpoint;
}

/**
 * The latest ledger checkpoint this keys VM accepted (`<state>/ledger/checkpoint`, the signed
 * note). Written with writeAtomically (fsync, rename, fsync of the directory) before any grant
 * of the ticket that brought it, so after a crash the keys VM never holds grants newer than
 * its checkpoint. Only the keys VM writes here, after verifying the note.
 */
export class CheckpointStore {
  constructor(private readonly stateDir: string) {}

  private get dir(): string { return join(this.stateDir, 'ledger'); }
  private get file(): string { return join(this.dir, 'checkpoint'); }

  /**
   * The held checkpoint, or undefined before the first v2 ticket. Rule: the stored note must
   * still verify with the provisioned logs key and name the expected origin; a file that does
   * not is refused (every ticket then fails with this reason), never silently replaced.
   */
  held(logsKey: NoteVerifier, origin: string): HeldCheckpoint | undefined {
    let note: string;
    try {
      note = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new QbuildError('io', `cannot read the held checkpoint ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      return { note, checkpoint: openCheckpoint(note, [logsKey], origin) };
    } catch (e) {
      throw new QbuildError('io', `the held checkpoint ${this.file} does not verify (${(e as Error).message}): restore it or remove it to trust the next one`);
    }
  }

  save(note: string): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeAtomically(this.file, note, 0o600, join(this.dir, `.checkpoint.tmp-${process.pid}`));
  }
}
