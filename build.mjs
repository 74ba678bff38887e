// Bundles src/cli/main.ts into dist/qbuild.cjs, then makes dist/qbuild, a Node
// single-executable application (design §2: SEA instead of pkg, which downloads binaries).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';
import { createRequire } from 'node:module';

const root = dirname(fileURLToPath(import.meta.url));
// QBUILD_DIST lets parallel work build elsewhere; CI and README use the default dist/.
const dist = process.env.QBUILD_DIST || join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const bundleOnly = process.argv.includes('--bundle-only');
mkdirSync(dist, { recursive: true });

// ESM dependencies read import.meta.url, which is empty in a CJS bundle: shim it.
const shim = join(dist, 'import-meta-url-shim.js');
writeFileSync(shim, "export const importMetaUrl = require('url').pathToFileURL(__filename).href;\n");

// Large dependencies are bundled on their own and loaded on demand (src/cli/vendor-loader.ts):
// a qrexec service process then starts with only qbuild's own code to read.
const VENDORS = {
  openpgp: 'openpgp',
  'isomorphic-git': 'isomorphic-git',
  'isomorphic-git/http/node': 'isomorphic-git-http-node',
  ws: 'ws',
  yaml: 'yaml',
  yargs: 'yargs',
};
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minifySyntax: true,
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
  inject: [shim],
  define: {
    'import.meta.url': 'importMetaUrl',
    'process.env.WS_NO_BUFFER_UTIL': '"1"',
    'process.env.WS_NO_UTF_8_VALIDATE': '"1"',
    QBUILD_VERSION: JSON.stringify(pkg.version),
  },
};
const loader = join(root, 'src/cli/vendor-loader.ts');
const vendorPlugin = {
  name: 'qbuild-vendor',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(VENDORS).map((k) => k.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (a) => ({ path: a.path, namespace: 'qbuild-vendor' }));
    // An ES module with the package's own export names, so default and named imports keep
    // Node's ESM semantics; the names are read from the package itself at build time.
    b.onLoad({ filter: /.*/, namespace: 'qbuild-vendor' }, async (a) => {
      const names = Object.keys(await import(a.path)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      const lines = [
        `import { loadVendor } from ${JSON.stringify(loader)};`,
        `const m = loadVendor(${JSON.stringify(VENDORS[a.path])});`,
        'export default m.default;',
        ...names.map((n) => `export const ${n} = m.${n};`),
      ];
      return { contents: lines.join('\n'), resolveDir: root, loader: 'js' };
    });
  },
};
mkdirSync(join(dist, 'vendor'), { recursive: true });
for (const [spec, name] of Object.entries(VENDORS)) {
  await build({
    ...common,
    // yargs' help layout only needs widths; see src/cli/string-width-lite.ts for why.
    alias: { 'string-width': join(root, 'src/cli/string-width-lite.ts') },
    stdin: { contents: `module.exports = require(${JSON.stringify(spec)});`, resolveDir: root, loader: 'js' },
    outfile: join(dist, 'vendor', `${name}.cjs`),
  });
}

await build({
  ...common,
  plugins: [vendorPlugin],
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(dist, 'qbuild.cjs'),
  // No comments or layout: every call reads and compiles this text (sea-entry.ts), and the
  // code stays ASCII (esbuild escapes strings; comments are where other characters were).
  minifyWhitespace: true,
});
rmSync(shim);
if (bundleOnly) process.exit(0);

// V8 code caches for the vendor bundles, made by this very node binary (the executable is a
// copy of it), with the same wrapper text the loader compiles.
const wrap = (code) => `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
for (const name of Object.values(VENDORS)) {
  const file = join(dist, 'vendor', `${name}.cjs`);
  const script = new vm.Script(wrap(readFileSync(file, 'utf8')), { filename: `qbuild:vendor/${name}.cjs` });
  const fn = script.runInThisContext();
  // Run the module once so the cache holds its eagerly compiled functions too.
  fn({}, createRequire(file), { exports: {} }, file, dirname(file));
  writeFileSync(join(dist, 'vendor', `${name}.cache`), script.createCachedData());
}

// The executable's main script is src/cli/sea-entry.ts: it compiles dist/qbuild.cjs (an asset)
// with a code cache chosen by command. `main` is the build-time cache (what SEA's useCodeCache
// would hold); the per-call commands get caches recorded by running them (recordCodeCaches).
await build({ ...common, inject: [], entryPoints: [join(root, 'src/cli/sea-entry.ts')], outfile: join(dist, 'sea-entry.cjs') });
const cacheDir = join(dist, 'cache');
rmSync(cacheDir, { recursive: true, force: true });
mkdirSync(cacheDir);
const mainCode = readFileSync(join(dist, 'qbuild.cjs'), 'latin1');
// sea-entry.ts reads the bundle as latin1, which equals UTF-8 only for ASCII.
if (/[^\x00-\x7f]/.test(mainCode)) throw new Error('dist/qbuild.cjs is not ASCII: sea-entry.ts reads it as latin1');
writeFileSync(join(cacheDir, 'main.cache'), new vm.Script(wrap(mainCode), { filename: 'qbuild:qbuild.cjs' }).createCachedData());

/** Single executable: blob from the entry and the assets, injected into a stripped copy of node. */
function makeExecutable(exe, caches) {
  const seaConfig = join(dist, 'sea-config.json');
  const blob = join(dist, 'qbuild.blob');
  writeFileSync(seaConfig, JSON.stringify({
    main: join(dist, 'sea-entry.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    assets: {
      'qbuild.cjs': join(dist, 'qbuild.cjs'),
      ...Object.fromEntries(caches.map((f) => [`cache/${basename(f)}`, f])),
      ...Object.fromEntries(Object.values(VENDORS).flatMap((n) => [
        [`vendor/${n}.cjs`, join(dist, 'vendor', `${n}.cjs`)],
        [`vendor/${n}.cache`, join(dist, 'vendor', `${n}.cache`)],
      ])),
    },
  }));
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(exe, { force: true });
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  try { execFileSync('strip', [exe], { stdio: 'ignore' }); } catch { /* strip is optional: size only */ }
  execFileSync(process.execPath, [
    join(root, 'node_modules/postject/dist/cli.js'), exe, 'NODE_SEA_BLOB', blob,
    '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ], { stdio: 'pipe' }); // postject warns about stripped note sections: harmless
  rmSync(blob);
  rmSync(seaConfig);
}

/**
 * Runs one signature through the simulator with a first build of the executable, each process
 * writing its code cache at exit (QBUILD_CODE_CACHE_OUT, read by sea-entry.ts). Returns the
 * recorded caches of the per-call commands; on any failure none (the build-time cache is used).
 */
async function recordCodeCaches(exe) {
  const work = mkdtempSync(join(tmpdir(), 'qbuild-codecache-'));
  const out = join(work, 'caches');
  const formula = join(work, 'formula');
  mkdirSync(out);
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', QBUILD_BIN: exe, QBUILD_CODE_CACHE_OUT: out };
  const run = (args, env = base, input = '') => execFileSync(exe, args, { env, input, stdio: 'pipe' });
  const inQube = (name) => {
    const q = join(formula, 'qubes', name);
    return { ...base, HOME: join(q, 'home'), QBUILD_SIM: formula, QBUILD_SIM_VM: name, QBUILD_CONFIG: join(q, 'qbuild.json'), QBUILD_STATE: join(q, 'state') };
  };
  try {
    run(['provision', '--pillar', join(root, 'examples', 'pillar.yml'), '--out', formula]);
    run(['sim', 'up', '--formula', formula, '--no-daemons']);
    try {
      const openpgp = await import('openpgp');
      const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'qbuild code cache', email: 'cache@build.invalid' }], format: 'armored' });
      writeFileSync(join(work, 'key.asc'), privateKey);
      run(['role', 'keys', 'import', join(work, 'key.asc')], inQube('keys-fedora'));
      // An empty LogReceived opens the opt-in time window: signing without a log (this
      // throwaway formula only; the signing path is the same as with a ticket).
      const cfgPath = join(formula, 'qubes', 'keys-fedora', 'qbuild.json');
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
      cfg.keys.gate = 'window';
      writeFileSync(cfgPath, JSON.stringify(cfg));
      run(['sim', 'call', '--formula', formula, '--from', 'logs', 'dom0', 'qubesbuilder.LogReceived+build-fedora']);
      for (let i = 0; i < 2; i++) run(['sign', '--detach-sign', '-u', 'cache@build.invalid'], inQube('build-fedora'), 'payload\n'.repeat(100));
    } finally {
      run(['sim', 'down', '--formula', formula]);
    }
    const keep = ['sign', 'rpc-qubes.Gpg'];
    return keep.map((k) => {
      const f = join(cacheDir, `${k}.cache`);
      copyFileSync(join(out, `${k}.cache`), f);
      return f;
    });
  } catch (e) {
    console.warn(`build: recording code caches failed, using the build-time cache only: ${e.message.split('\n')[0]}`);
    return [];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const exe = join(dist, 'qbuild');
makeExecutable(exe, [join(cacheDir, 'main.cache')]);
const recorded = process.env.QBUILD_NO_RECORDED_CACHE ? [] : await recordCodeCaches(exe);
if (recorded.length) makeExecutable(exe, [join(cacheDir, 'main.cache'), ...recorded]);
console.log(`built ${exe}${recorded.length ? ` (code caches recorded for: ${recorded.map((f) => basename(f, '.cache')).join(', ')})` : ''}`);
