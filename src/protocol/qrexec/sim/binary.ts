import { QbuildError } from '../../../errors.js';

/**
 * The qbuild binary that the simulated qubes run: QBUILD_BIN, else this very executable when
 * it is the single-executable build. Running from the .cjs bundle has no binary to hand out.
 */
export function simBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QBUILD_BIN) return env.QBUILD_BIN;
  let isSea = false;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    isSea = (require('node:sea') as { isSea(): boolean }).isSea();
  } catch { /* node:sea absent: not a single executable */ }
  if (isSea) return process.execPath;
  throw new QbuildError('config', 'set QBUILD_BIN to the qbuild binary (the simulator runs the built executable)');
}
