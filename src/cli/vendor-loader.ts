import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * Large third-party packages (openpgp, isomorphic-git, yargs, yaml, ws) are bundled apart
 * from qbuild's own code (build.mjs) and loaded only by the commands that use them, so the
 * code every qrexec call starts with stays small (design §2). In the single executable they
 * are SEA assets; next to dist/qbuild.cjs they are files in dist/vendor/.
 */
const loaded = new Map<string, unknown>();

interface SeaApi { isSea(): boolean; getAsset(key: string, encoding?: string): string | ArrayBuffer }

/** The CommonJS wrapper; build.mjs compiles the very same text to make the code cache. */
export const wrap = (code: string): string => `(function (exports, require, module, __filename, __dirname) {${code}\n})`;

function seaApi(): SeaApi | undefined {
  try {
    return require('node:sea') as SeaApi;
  } catch {
    return undefined; // node:sea is absent outside a single executable on older Node
  }
}

export function loadVendor(name: string): unknown {
  const hit = loaded.get(name);
  if (hit !== undefined) return hit;
  const sea = seaApi();
  let exported: unknown;
  if (sea?.isSea()) {
    const code = sea.getAsset(`vendor/${name}.cjs`, 'utf8') as string;
    // V8's code cache made at build time by the same node binary; if V8 rejects it (other
    // flags), the code is simply compiled as usual.
    const cachedData = Buffer.from(sea.getAsset(`vendor/${name}.cache`) as ArrayBuffer);
    const script = new Script(wrap(code), { filename: `qbuild:vendor/${name}.cjs`, cachedData });
    if (script.cachedDataRejected && process.env.QBUILD_DEBUG) process.stderr.write(`qbuild: code cache for ${name} rejected\n`);
    const fn = script.runInThisContext() as (...a: unknown[]) => void;
    const mod = { exports: {} as unknown };
    fn(mod.exports, require, mod, process.execPath, dirname(process.execPath));
    exported = mod.exports;
  } else {
    exported = require(join(__dirname, 'vendor', `${name}.cjs`)) as unknown;
  }
  loaded.set(name, exported);
  return exported;
}
