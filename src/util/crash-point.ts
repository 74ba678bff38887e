import { unlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A named point where crash-safety tests kill the process. When `QBUILD_CRASH_POINTS` names
 * a directory holding a file `<name>`, the file is removed (so the restarted process passes)
 * and the process SIGKILLs itself right here: no cleanup, no flush, as a power cut would.
 * `before` runs only then, just before the kill (e.g. a torn write, as a power cut leaves one).
 * Without the variable (every real deployment) this does nothing.
 */
export function crashPoint(name: string, before?: () => void, env: NodeJS.ProcessEnv = process.env): void {
  const dir = env.QBUILD_CRASH_POINTS;
  if (!dir) return;
  try {
    unlinkSync(join(dir, name));
  } catch {
    return;
  }
  before?.();
  process.kill(process.pid, 'SIGKILL');
}
