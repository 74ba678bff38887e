import { basename } from 'node:path';
import { createRequire } from 'node:module';

/**
 * The qbuild executable to install in each qube: this process's own executable when it is the
 * single-executable build (node:sea says so, or it is called `qbuild`); otherwise (running
 * under plain node or vitest) there is no binary to copy and null is returned.
 */
export function selfBinary(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const sea = req('node:sea') as { isSea?: () => boolean };
    if (sea.isSea?.()) return process.execPath;
  } catch {
    // node:sea is missing before Node 20.12: fall back to the name check.
  }
  return basename(process.execPath) === 'qbuild' ? process.execPath : null;
}
