import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/**
 * A maker of fresh temp dirs (`<tmpdir>/<prefix>XXXXXX`) for the calling test file: every dir
 * it made is removed after each test, pass or fail. Call at the top level of a test file.
 */
export function tempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterEach(() => { for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true }); });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
