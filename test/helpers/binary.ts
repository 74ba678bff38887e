import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The built single executable under test: QBUILD_BIN, else dist/qbuild (npm test builds it). */
export function qbuildBin(): string {
  const bin = process.env.QBUILD_BIN || join(repoRoot, 'dist', 'qbuild');
  if (!existsSync(bin)) throw new Error(`${bin} missing: run \`node build.mjs\` first`);
  return bin;
}
