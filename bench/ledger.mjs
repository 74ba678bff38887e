#!/usr/bin/env node
// bench/ledger: the transparency ledger's pure core (src/protocol/tlog/) for N ledger entries
// (default 100 000): append rate (encode the entry, RFC 6962 leaf hash, append to the tree),
// inclusion- and consistency-proof time (generate and verify, mean over 2 000 random ones)
// and proof size, and the full verification an auditor does from a clone: read the signed
// checkpoint, rebuild the tree from the C2SP tiles on disk (every tile's length and every
// upper tile checked), compare the root, read every entry bundle, check each entry hashes to
// its leaf and parses.
//
//   node bench/ledger.mjs [--entries 100000]
//
// Targets: append >= 10 000 entries/s, each proof < 1 ms, full verification < 5 s (wall time;
// the process's CPU time is printed too, since a shared machine's load inflates wall time).
// The modules are compiled with esbuild for this script (no dist/ needed).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { result } from './lib/result.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('entries', 100_000);
const PROOFS = 2000;

async function load() {
  const contents = ['merkle', 'checkpoint', 'entry', 'tiles'].map((m) => `export * from './src/protocol/tlog/${m}.ts';`).join('\n')
    + "\nexport * from './src/protocol/note/note.ts';\n";
  const r = await build({ stdin: { contents, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
  return import(`data:text/javascript;base64,${Buffer.from(r.outputFiles[0].text).toString('base64')}`);
}
const T = await load();

const dir = mkdtempSync(join(tmpdir(), 'qbuild-bench-ledger-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
process.on('SIGINT', () => process.exit(130));

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
/** This process's CPU time in ms: next to the wall time, it shows how much a loaded machine took away. */
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const met = (ok) => (ok ? 'met' : 'NOT MET');
/** Deterministic xorshift PRNG, so every run measures the same indexes. */
let x = 0x9e3779b9;
const rnd = (n) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
const hex64 = (i, salt) => (i.toString(16).padStart(8, '0') + salt).repeat(8).slice(0, 64);

/** A ledger entry shaped like a real one: a sign stage with three signed files. */
function entryOf(i) {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    vm: 'build-fedora',
    path: `build-fedora/log_${t.slice(0, 10)}_${String(i).padStart(8, '0')}`,
    logSha256: hex64(i, 'a'),
    digests: [
      { form: 'binary', sha256: hex64(i, 'b'), label: `qubes-core-agent-4.2.${i}-1.fc41.x86_64.rpm` },
      { form: 'binary', sha256: hex64(i, 'c'), label: `qubes-core-agent-4.2.${i}-1.fc41.src.rpm` },
      { form: 'text', sha256: hex64(i, 'd'), label: 'repomd.xml' },
    ],
    start: t,
    end: t,
  };
}

// 1. Append: encode, leaf-hash and append every entry.
const entries = Array.from({ length: N }, (_, i) => entryOf(i));
const tree = new T.MerkleTree();
const encoded = new Array(N);
let t0 = now();
let c0 = cpu();
for (let i = 0; i < N; i++) {
  encoded[i] = T.encodeEntry(entries[i]);
  tree.append(T.leafHash(encoded[i]));
}
const appendMs = now() - t0;
const appendCpu = cpu() - c0;
const rate = N / (appendMs / 1000);
const rootHash = tree.root();

// 2. Inclusion proofs of random leaves in the full tree.
const idx = Array.from({ length: PROOFS }, () => rnd(N));
t0 = now();
const proofs = idx.map((i) => tree.inclusionProof(i));
const inclGen = (now() - t0) / PROOFS;
const leaves = idx.map((i) => tree.leafHashAt(i));
t0 = now();
let ok = true;
for (let k = 0; k < PROOFS; k++) ok = T.verifyInclusion(idx[k], N, leaves[k], proofs[k], rootHash) && ok;
const inclVer = (now() - t0) / PROOFS;
if (!ok) throw new Error('an inclusion proof did not verify');
const inclHashes = proofs.reduce((n, p) => n + p.length, 0) / PROOFS;

// 3. Consistency proofs from random older sizes to the full tree.
const olds = Array.from({ length: PROOFS }, () => 1 + rnd(N - 1));
const oldRoots = olds.map((s) => tree.root(s));
t0 = now();
const cproofs = olds.map((s) => tree.consistencyProof(s));
const consGen = (now() - t0) / PROOFS;
t0 = now();
for (let k = 0; k < PROOFS; k++) ok = T.verifyConsistency(olds[k], N, oldRoots[k], rootHash, cproofs[k]) && ok;
const consVer = (now() - t0) / PROOFS;
if (!ok) throw new Error('a consistency proof did not verify');
const consHashes = cproofs.reduce((n, p) => n + p.length, 0) / PROOFS;

// 4. Publish: tiles, entry bundles and the signed checkpoint, written to a directory.
const origin = 'logs.bench.example/qbuild';
const key = T.generateNoteKey(origin);
t0 = now();
const files = [...T.tilesFor(tree, 0, N), ...T.bundlesFor(0, N, (i) => encoded[i])];
for (const f of files) {
  mkdirSync(dirname(join(dir, f.path)), { recursive: true });
  writeFileSync(join(dir, f.path), f.bytes);
}
writeFileSync(join(dir, 'checkpoint'), T.signCheckpoint({ origin, size: N, root: rootHash, extensions: [] }, T.parseSignerKey(key.signerKey)));
const publishMs = now() - t0;
const bytes = files.reduce((n, f) => n + f.bytes.length, 0);

// 5. Full verification from the files alone.
const read = (p) => {
  try { return readFileSync(join(dir, p)); } catch (e) { if (e.code === 'ENOENT') return undefined; throw e; }
};
t0 = now();
c0 = cpu();
const c = T.openCheckpoint(readFileSync(join(dir, 'checkpoint')), [T.parseVerifierKey(key.verifierKey)], origin);
const rebuilt = T.treeFromTiles(read, c.size);
if (!rebuilt.root().equals(c.root)) throw new Error('root from tiles differs from the checkpoint');
const fromBundles = T.entriesFromTiles(read, c.size);
T.entriesMatchTree(rebuilt, fromBundles);
for (const e of fromBundles) T.parseEntry(e);
const verifyMs = now() - t0;
const verifyCpu = cpu() - c0;

const n = N.toLocaleString('en-US');
console.log(`bench/ledger: ${n} ledger entries (3 signed digests each, ${(encoded[0].length)} bytes), proofs: mean of ${PROOFS} random`);
console.log(`ledger append (encode + leaf hash + tree)   ${rate.toFixed(0)} entries/s   (target >= 10000 entries/s) ${met(rate >= 10_000)}   (cpu ${(N / (appendCpu / 1000)).toFixed(0)} entries/s)`);
console.log(`inclusion proof generate                    ${(inclGen * 1000).toFixed(1)} µs   (target < 1000 µs) ${met(inclGen < 1)}`);
console.log(`inclusion proof verify                      ${(inclVer * 1000).toFixed(1)} µs   (target < 1000 µs) ${met(inclVer < 1)}`);
console.log(`inclusion proof size                        ${(inclHashes * 32).toFixed(0)} bytes (${inclHashes.toFixed(1)} hashes)`);
console.log(`consistency proof generate                  ${(consGen * 1000).toFixed(1)} µs   (target < 1000 µs) ${met(consGen < 1)}`);
console.log(`consistency proof verify                    ${(consVer * 1000).toFixed(1)} µs   (target < 1000 µs) ${met(consVer < 1)}`);
console.log(`consistency proof size                      ${(consHashes * 32).toFixed(0)} bytes (${consHashes.toFixed(1)} hashes)`);
console.log(`publish tiles + bundles + checkpoint        ${(publishMs / 1000).toFixed(2)} s   (${files.length} files, ${(bytes / 1e6).toFixed(1)} MB)`);
console.log(`full verification from tiles                ${(verifyMs / 1000).toFixed(2)} s   (target < 5 s) ${met(verifyMs < 5000)}   (cpu ${(verifyCpu / 1000).toFixed(2)} s)`);
// Result lines for npm run bench (bench/lib/result.mjs): absolute targets, so the limit is the baseline.
result({ metric: 'ledger append (limit: 10000 entries/s)', qbuild: rate, baseline: 10_000, unit: 'entries/s', better: 'higher', target: 1 });
for (const [what, ms] of [['inclusion proof generate', inclGen], ['inclusion proof verify', inclVer], ['consistency proof generate', consGen], ['consistency proof verify', consVer]]) {
  result({ metric: `ledger ${what} (limit: 1000 µs)`, qbuild: ms * 1000, baseline: 1000, unit: 'µs', better: 'lower', target: 1 });
}
result({ metric: `ledger full verification from tiles, ${n} entries (limit: 5 s)`, qbuild: verifyMs, baseline: 5000, unit: 'ms', better: 'lower', target: 1 });
