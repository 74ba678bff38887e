// Bundles src/cli/main.ts into dist/qbuild.cjs, then makes dist/qbuild, a Node
// single-executable application (DESIGN §2: SEA instead of pkg, which downloads binaries).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
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
});
rmSync(shim);
if (bundleOnly) process.exit(0);

// V8 code caches for the vendor bundles, made by this very node binary (the executable is a
// copy of it), with the same wrapper text the loader compiles; and the main script's own
// code cache comes from SEA's useCodeCache.
for (const name of Object.values(VENDORS)) {
  const file = join(dist, 'vendor', `${name}.cjs`);
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'utf8')}\n})`;
  const script = new vm.Script(wrapped, { filename: `qbuild:vendor/${name}.cjs` });
  const fn = script.runInThisContext();
  // Run the module once so the cache holds its eagerly compiled functions too.
  fn({}, createRequire(file), { exports: {} }, file, dirname(file));
  writeFileSync(join(dist, 'vendor', `${name}.cache`), script.createCachedData());
}

// Single executable: blob from the bundle, injected into a stripped copy of node.
const seaConfig = join(dist, 'sea-config.json');
const blob = join(dist, 'qbuild.blob');
writeFileSync(seaConfig, JSON.stringify({
  main: join(dist, 'qbuild.cjs'),
  output: blob,
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  assets: Object.fromEntries(Object.values(VENDORS).flatMap((n) => [
    [`vendor/${n}.cjs`, join(dist, 'vendor', `${n}.cjs`)],
    [`vendor/${n}.cache`, join(dist, 'vendor', `${n}.cache`)],
  ])),
}));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
const exe = join(dist, 'qbuild');
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
console.log(`built ${exe}`);
