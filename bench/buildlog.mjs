#!/usr/bin/env node
// bench/buildlog: qubesbuilder.BuildLog ingest through the simulator, as a ratio to `cat`
// piping the same bytes into a file, both measured in this run; plus the peak RSS of the
// BuildLog service process (the logs VM side) for a large log.
//
//   node bench/buildlog.mjs [--mib 128] [--rss-mib 256]      (--rss-mib 1024 for the 1 GiB figure)
//
// Input: lines of 20–140 random printable bytes. Both sides are fed the same way
// (`cat FILE | X`): X = `cat > FILE` or `qbuild sim call --from build-fedora dom0
// qubesbuilder.BuildLog` (router + policy + service process, store on the same disk).
// Targets (issue 14, against lines measured in the same run): BuildLog alone ≥ 0.8× the minimal
// durable Node writer, through the simulator ≥ 0.8× the simulator's relay ceiling, peak RSS
// < 150 MB for a 1 GiB log (--rss-mib 1024). It also prints the disk's durable-write limit
// for the stored bytes, measured in the same run, since `cat > file` does not sync and
// BuildLog must. The daemon is not started (--no-daemons): it
// publishes after the fact and must not compete for the 2 cores during the measurement.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { result } from './lib/result.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const mib = arg('mib', 128);
const rssMib = arg('rss-mib', 256);
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) throw new Error(`${bin} missing: run node build.mjs (or set QBUILD_BIN)`);

const dir = mkdtempSync(join(tmpdir(), 'qbuild-bench-buildlog-'));
let formula;
const cleanup = () => {
  if (formula) spawnSync(bin, ['sim', 'down', '--formula', formula], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Deterministic lines of 20–140 printable bytes (xorshift PRNG), `size` bytes in all. */
async function makeInput(path, size) {
  const out = createWriteStream(path);
  let x = 0x12345678;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  let written = 0;
  while (written < size) {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let o = 0;
    while (o < chunk.length - 142) {
      const len = 20 + (rnd() % 121);
      for (let i = 0; i < len; i++) chunk[o++] = 0x20 + (rnd() % 95);
      chunk[o++] = 10;
    }
    const part = chunk.subarray(0, Math.min(o, size - written));
    written += part.length;
    if (!out.write(part)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return written;
}

function sh(script, env = process.env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn('sh', ['-c', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (b) => { err += b; });
    c.on('close', (code) => code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e9) : reject(new Error(`${script}: exit ${code}: ${err}`)));
  });
}

/** Peak RSS (VmHWM) of the BuildLog service process, found through its spool record. */
function watchServiceRss(state) {
  let peak = 0;
  let pid;
  const timer = setInterval(() => {
    try {
      if (!pid) {
        const spool = join(state, 'spool');
        const f = existsSync(spool) && readdirSync(spool).find((n) => n.endsWith('.open.json'));
        if (f) pid = JSON.parse(readFileSync(join(spool, f), 'utf8')).pid;
      }
      if (pid) {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      }
    } catch { /* exited */ }
  }, 20);
  return () => { clearInterval(timer); return peak; };
}

const q = (s) => `'${s.replace(/'/g, "'\\''")}'`;

// A simulated formula with the example pillar; the logs VM's size cap raised for the bench.
formula = join(dir, 'formula');
const prov = spawnSync(bin, ['provision', '--pillar', join(root, 'examples', 'pillar.yml'), '--out', formula], { encoding: 'utf8' });
if (prov.status !== 0) throw new Error(`provision: ${prov.stderr}`);
const cfgPath = join(formula, 'files', 'logs', 'qbuild.json');
const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
cfg.logs.maxLogBytes = 8 * 1024 ** 3;
writeFileSync(cfgPath, JSON.stringify(cfg));
const up = spawnSync(bin, ['sim', 'up', '--formula', formula, '--no-daemons'], { encoding: 'utf8', env: { ...process.env, QBUILD_BIN: bin } });
if (up.status !== 0) throw new Error(`sim up: ${up.stderr}`);
const logsState = join(formula, 'qubes', 'logs', 'state');
const call = `${q(bin)} sim call --formula ${q(formula)} --from build-fedora dom0 qubesbuilder.BuildLog > /dev/null`;

const input = join(dir, 'input');
const size = await makeInput(input, mib * 1024 * 1024);
spawnSync('cat', [input], { stdio: ['ignore', 'ignore', 'ignore'] }); // page cache

// The same service without the simulator's relays: its stdin is the pipe itself, as when
// qrexec-agent hands a real Qubes service its stream. Shows what the logs VM itself costs.
const direct = `QBUILD_CONFIG=${q(join(formula, 'qubes', 'logs', 'qbuild.json'))} QBUILD_STATE=${q(logsState)} ` +
  `QREXEC_REMOTE_DOMAIN=build-fedora QREXEC_SERVICE_FULL_NAME=qubesbuilder.BuildLog ${q(bin)} rpc qubesbuilder.BuildLog > /dev/null`;
const clean = () => {
  rmSync(join(logsState, 'store'), { recursive: true, force: true });
  rmSync(join(logsState, 'spool'), { recursive: true, force: true });
};
/** Bytes of the stored log(s) under the store (the service writes 1.6x its input here). */
function storeSize(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.startsWith('log_')) n += statSync(join(e.parentPath ?? e.path, e.name)).size;
  return n;
}
let storedBytes = 0;
const cats = [];
const qbs = [];
const directs = [];
for (let round = 0; round < 3; round++) {
  cats.push(await sh(`cat ${q(input)} | cat > ${q(join(dir, 'cat.out'))}`));
  rmSync(join(dir, 'cat.out'));
  qbs.push(await sh(`cat ${q(input)} | ${call}`));
  clean();
  directs.push(await sh(`cat ${q(input)} | ${direct}`));
  storedBytes = storeSize(join(logsState, 'store'));
  clean();
}
// The simulator's relays alone: the same call with the logs VM's stub replaced by
// `cat > /dev/null` (the ceiling any service can reach through the simulator).
const stub = join(formula, 'qubes', 'logs', 'rpc', 'qubesbuilder.BuildLog');
const realStub = readFileSync(stub);
writeFileSync(stub, '#!/bin/sh\nexec cat > /dev/null\n');
const relays = [];
for (let round = 0; round < 2; round++) relays.push(await sh(`cat ${q(input)} | ${call}`));
writeFileSync(stub, realStub);
const tr = Math.min(...relays);
const tc = Math.min(...cats);
const tq = Math.min(...qbs);
const td = Math.min(...directs);
const mb = size / 1e6;
console.log(`input: ${(size / 2 ** 20).toFixed(0)} MiB of 20-140 byte printable lines (best of 3 runs each)`);
console.log(`cat | cat > file                            ${(mb / tc).toFixed(0)} MB/s`);
console.log(`cat | qbuild sim call ... BuildLog          ${(mb / tq).toFixed(0)} MB/s   ratio ${(tc / tq).toFixed(3)}x (${(tr / tq).toFixed(2)} of the relay ceiling below; target >= 0.8)`);
console.log(`cat | qbuild rpc qubesbuilder.BuildLog      ${(mb / td).toFixed(0)} MB/s   ratio ${(tc / td).toFixed(3)}x (service alone, no simulator relays)`);
console.log(`cat | qbuild sim call ... (cat > /dev/null) ${(mb / tr).toFixed(0)} MB/s   ratio ${(tc / tr).toFixed(3)}x (simulator relays alone: the ceiling)`);

// The disk's own limit for a durable store: writing the stored bytes once and syncing them
// (dd conv=fdatasync). BuildLog must fdatasync within 100 ms, `cat > file` never syncs, so
// this caps any durable ingest whatever the code does.
const ddMiB = Math.ceil(storedBytes / 2 ** 20);
const dds = [];
for (let round = 0; round < 2; round++) {
  dds.push(await sh(`dd if=/dev/zero of=${q(join(dir, 'dd.out'))} bs=1M count=${ddMiB} conv=fdatasync 2>/dev/null`));
  rmSync(join(dir, 'dd.out'));
}
const tdd = Math.min(...dds);
console.log(`durable write of the ${ddMiB} MiB stored (dd conv=fdatasync): ${(ddMiB * 1.048576 / tdd).toFixed(0)} MB/s, so no durable store ingests more than ${(mb / tdd).toFixed(0)} MB/s = ${(tc / tdd).toFixed(3)}x cat here`);

// The least any Node process must do for the same durability, without the simulator: read
// stdin in 1 MiB blocking reads, write the stored amount (1.6x, no encoding at all) and
// fdatasync every 50 ms, the last one before exit. BuildLog alone is measured against it.
const minimal = join(dir, 'minimal-durable-writer.cjs');
// Blocking reads never yield to the event loop, so an async fdatasync callback would never
// run: the batched sync runs on a worker thread, 50 ms after a write (as BuildLog promises).
writeFileSync(minimal, `const fs = require('fs');
const { Worker } = require('worker_threads');
const out = fs.openSync(process.argv[2], 'w');
const factor = ${storedBytes / size};
const sh = new Int32Array(new SharedArrayBuffer(8)); // [0] writes so far, [1] done
const w = new Worker(\`const { workerData } = require('worker_threads'); const fs = require('fs');
const s = new Int32Array(workerData.b); let seen = 0;
for (;;) { Atomics.wait(s, 0, seen); if (s[1]) break; Atomics.wait(s, 1, 0, 50); if (s[1]) break; seen = Atomics.load(s, 0); fs.fdatasyncSync(workerData.fd); }\`,
  { eval: true, workerData: { b: sh.buffer, fd: out } });
w.unref();
const buf = Buffer.allocUnsafe(1 << 20), pad = Buffer.alloc(1 << 20, 0x41);
let n;
while ((n = fs.readSync(0, buf, 0, buf.length, null)) > 0) {
  fs.writeSync(out, buf, 0, n);
  fs.writeSync(out, pad, 0, Math.floor(n * (factor - 1)));
  Atomics.add(sh, 0, 1); Atomics.notify(sh, 0);
}
fs.fdatasyncSync(out);
sh[1] = 1; Atomics.notify(sh, 0); Atomics.notify(sh, 1);
`);
const nodeEnv = { PATH: process.env.PATH }; // no NODE_OPTIONS / NODE_EXTRA_CA_CERTS: plain node start-up
const mins = [];
for (let round = 0; round < 3; round++) {
  mins.push(await sh(`cat ${q(input)} | ${q(process.execPath)} ${q(minimal)} ${q(join(dir, 'minimal.out'))}`, nodeEnv));
  rmSync(join(dir, 'minimal.out'));
}
const tm = Math.min(...mins);
console.log(`minimal durable Node writer (blocking reads, write ${(storedBytes / size).toFixed(2)}x, fdatasync 50 ms after a write on a worker): ${(mb / tm).toFixed(0)} MB/s = ${(tc / tm).toFixed(3)}x cat (BuildLog alone reaches ${(tm / td).toFixed(2)} of it)`);

// Peak RSS of the service for a large log.
const rssInput = rssMib === mib ? input : join(dir, 'input-rss');
const rssSize = rssMib === mib ? size : await makeInput(rssInput, rssMib * 1024 * 1024);
const stop = watchServiceRss(logsState);
const t = await sh(`cat ${q(rssInput)} | ${call}`);
const peak = stop();
console.log(`BuildLog service peak RSS for a ${(rssSize / 2 ** 20).toFixed(0)} MiB log: ${(peak / 1e6).toFixed(1)} MB (target < 150 MB; ${(rssSize / 1e6 / t).toFixed(0)} MB/s)`);

const rates = (ts) => { const r = ts.map((t) => Number((mb / t).toFixed(0))); return [Math.min(...r), Math.max(...r)]; };
result({ metric: 'BuildLog ingest, service alone / minimal durable Node writer', qbuild: mb / td, baseline: mb / tm, unit: 'MB/s', better: 'higher', target: 0.8, range: rates(directs) });
result({ metric: 'BuildLog ingest through the simulator / simulator relay ceiling', qbuild: mb / tq, baseline: mb / tr, unit: 'MB/s', better: 'higher', target: 0.8, range: rates(qbs) });
result({ metric: `BuildLog service peak RSS, ${(rssSize / 2 ** 20).toFixed(0)} MiB log (limit 150 MB)`, qbuild: peak / 1e6, baseline: 150, unit: 'MB', better: 'lower', target: 1, peakMB: Number((peak / 1e6).toFixed(1)) });
