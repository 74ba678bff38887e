// The single executable's main script (build.mjs): compiles qbuild's bundle, an SEA asset,
// with a V8 code cache recorded for this very command. SEA's own useCodeCache holds only the
// functions V8 compiles eagerly; every other function a per-call process runs (`qbuild sign`,
// `qbuild rpc qubes.Gpg`) was compiled again on every call. build.mjs runs those commands
// once through the simulator and stores the cache each process had at exit.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { wrap } from './vendor-loader.js';

interface SeaApi { getAsset(key: string, encoding?: string): string | ArrayBuffer }
const sea = require('node:sea') as SeaApi;

/** Which recorded cache suits this command line; `main` is the build-time (eager-only) cache. */
function cacheKey(argv: string[]): string {
  if (argv[0] === 'sign') return 'sign';
  if (argv[0] === 'rpc' && argv[1] !== undefined && /^[A-Za-z0-9._-]{1,64}$/.test(argv[1])) return `rpc-${argv[1]}`;
  return 'main';
}

function asset(key: string): ArrayBuffer | undefined {
  try {
    return sea.getAsset(key) as ArrayBuffer;
  } catch {
    return undefined; // no cache recorded for this command
  }
}

const key = cacheKey(process.argv.slice(2));
const cache = asset(`cache/${key}.cache`) ?? asset('cache/main.cache');
// latin1: the bundle is ASCII (esbuild escapes the rest; build.mjs checks), and decoding it as
// UTF-8 would cost every process ~2 ms. Wrapped as build.mjs wraps it (a cache only fits the
// text it was made from).
const source = Buffer.from(sea.getAsset('qbuild.cjs') as ArrayBuffer).toString('latin1');
const script = new Script(wrap(source), { filename: 'qbuild:qbuild.cjs', ...(cache ? { cachedData: Buffer.from(cache) } : {}) });
if (script.cachedDataRejected && process.env.QBUILD_DEBUG) process.stderr.write(`qbuild: code cache ${key} rejected\n`);

// Build time only (build.mjs): record what this process compiled, for its command.
const out = process.env.QBUILD_CODE_CACHE_OUT;
if (out) process.once('exit', () => writeFileSync(join(out, `${key}.cache`), script.createCachedData()));

const mod = { exports: {} as unknown };
(script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, require, mod, process.execPath, dirname(process.execPath));
