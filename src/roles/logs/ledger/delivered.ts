import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomically } from '../../../util/durable-file.js';

/**
 * Per keys VM, the checkpoint size it holds as far as the logs VM knows
 * (`<state>/tickets/keys-checkpoints.json`): the size a LogReceived call last reported on
 * stdout (`checkpoint-size <n>`, on acceptance and refusal). The next ticket's consistency
 * proof starts there. It is a hint, not trust: a lost or stale value costs one refused call,
 * whose reply carries the size the keys VM really holds, and the ticket is re-sent from it.
 */
export class DeliveredSizes {
  constructor(private readonly state: string) {}

  private get file(): string { return join(this.state, 'tickets', 'keys-checkpoints.json'); }

  private all(): Record<string, number> {
    try {
      const v = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, number>) : {};
    } catch {
      return {};
    }
  }

  /** What `keysVm` holds; 0 (nothing yet) when unknown or not a count. */
  get(keysVm: string): number {
    const n = this.all()[keysVm];
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  set(keysVm: string, size: number): void {
    const all = this.all();
    if (all[keysVm] === size) return;
    all[keysVm] = size;
    mkdirSync(join(this.state, 'tickets'), { recursive: true });
    writeAtomically(this.file, `${JSON.stringify(all)}\n`, 0o644, join(this.state, 'tickets', '.keys-checkpoints.tmp'));
  }
}
