// bench/webhook: the sys-net webhook listener under load, next to a bare Node http server
// that only answers 202, in the same run (targets: listener ≥ 0.7 × bare, p99 ≤ 2 × bare's).
//
//   node bench/webhook.mjs [--duration 14] [--connections 50] [--rounds 7] [--warmup 1]
//
// This machine is shared, so its speed drifts within seconds: after one warm-up round each
// (--warmup seconds, not counted: JIT, connection setup), the two servers are loaded in
// alternating rounds (duration/rounds seconds each). Each listener round is compared with the
// bare round just before it; the verdict is the median of those ratios (a drift that hits one
// pair does not decide the result). Totals and the ratio of totals are printed too.
// Wall time: 2 × (warmup + duration) + start-up, about 33 s with the defaults (autocannon stops
// on its 1 s sampling tick, so keep duration/rounds a whole number of seconds).
//
// The listener is the built binary (QBUILD_BIN or dist/qbuild) running `role sysnet --serve`
// with a temporary config: every request is a correctly signed GitHub push with a fresh
// delivery GUID, so each 202 is a job fsynced into the forward queue (group commit). Its two
// build VMs are "off" (there is no qrexec here: every forward fails and backs off), which is
// the case where the queue matters; forwarding cost itself is not what this measures.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { result } from './lib/result.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const duration = arg('duration', 14);
const connections = arg('connections', 50);
const rounds = arg('rounds', 7);
const warmup = arg('warmup', 1);
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) throw new Error(`${bin} missing: run node build.mjs (or set QBUILD_BIN)`);

const require = createRequire(import.meta.url);
const push = require('@octokit/webhooks-examples').find((e) => e.name === 'push').examples[0];
const body = JSON.stringify(push);
const secret = 'bench-secret-0123456789abcdef';
const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'qbuild-bench-webhook-'));
const children = [];
const cleanup = () => { for (const c of children) c.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', cleanup);

function waitFile(path, ms = 20000) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (existsSync(path) && readFileSync(path, 'utf8').endsWith('\n')) { clearInterval(t); resolve(readFileSync(path, 'utf8').trim()); }
      else if (Date.now() > end) { clearInterval(t); reject(new Error(`timed out waiting for ${path}`)); }
    }, 20);
  });
}

async function startListener() {
  writeFileSync(join(dir, 'secret'), secret, { mode: 0o600 });
  writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({
    vm: 'sys-net', role: 'sysnet',
    sysnet: { buildVms: ['build-a', 'build-b'], listen: '127.0.0.1:0', secretFile: join(dir, 'secret'), queueMax: 10_000_000, sshHosts: [] },
  }));
  const child = spawn(bin, ['role', 'sysnet', '--serve'], {
    env: { PATH: process.env.PATH, HOME: dir, QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: join(dir, 'state') },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.push(child);
  const addr = await waitFile(join(dir, 'state', 'sysnet', 'listening'));
  return { child, port: Number(addr.split(':').pop()) };
}

/**
 * The bare server; with `verify`, it also does the two things no listener can skip for a signed
 * delivery: the HMAC of the raw body (timing-safe compare) and JSON.parse of it. That is the
 * ceiling for any verifying listener on this machine, measured in the same run.
 */
async function startBare(verify = false) {
  const portFile = join(dir, verify ? 'verify-port' : 'bare-port');
  const child = spawn(process.execPath, ['-e', `
    const http = require('node:http');
    const { createHmac, timingSafeEqual } = require('node:crypto');
    const secret = ${JSON.stringify(secret)};
    const s = http.createServer((req, res) => {
      const parts = [];
      req.on('data', (b) => { if (${verify}) parts.push(b); });
      req.on('end', () => {
        if (${verify}) {
          const body = Buffer.concat(parts);
          const want = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'));
          const got = Buffer.from(String(req.headers['x-hub-signature-256']));
          if (got.length !== want.length || !timingSafeEqual(got, want)) { res.writeHead(401); res.end(); return; }
          JSON.parse(body.toString('utf8'));
        }
        res.writeHead(202, { 'content-type': 'application/json' }); res.end('{"message":"queued"}\\n');
      });
    });
    s.listen(0, '127.0.0.1', () => require('node:fs').writeFileSync(${JSON.stringify(portFile)}, s.address().port + '\\n'));
  `], { stdio: 'ignore' });
  children.push(child);
  return { child, port: Number(await waitFile(portFile)) };
}

function load(port, seconds = duration / rounds) {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [{
      method: 'POST',
      path: '/github-hooks/trigger-build',
      body,
      setupRequest: (req) => ({
        ...req,
        headers: {
          'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature,
          'x-github-delivery': randomUUID(), 'user-agent': 'GitHub-Hookshot/bench',
        },
      }),
    }],
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return NaN; }
}

/** Totals over rounds: accepted requests per second, and the median of the rounds' p99. */
function summary(name, results) {
  const accepted = results.reduce((n, r) => n + r['2xx'], 0);
  const seconds = results.reduce((n, r) => n + r.duration, 0);
  const other = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
  const p99s = results.map((r) => r.latency.p99).sort((a, b) => a - b);
  const p99 = p99s[Math.floor(p99s.length / 2)];
  const rps = accepted / seconds;
  console.log(`${name.padEnd(22)} ${rps.toFixed(0).padStart(7)} accepted req/s   p99 ${String(p99).padStart(4)} ms   (${accepted} accepted, ${other} other/errors, ${seconds.toFixed(1)} s)`);
  return rps;
}

console.log(`bench/webhook: ${connections} connections, ${duration} s per server in ${rounds} alternating rounds after a ${warmup} s warm-up each, signed push (${body.length} bytes), unique delivery GUIDs`);
const bare = await startBare();
const verified = await startBare(true);
const listener = await startListener();
if (warmup > 0) {
  const w = [await load(bare.port, warmup), await load(verified.port, warmup), await load(listener.port, warmup)];
  if (w.some((r) => r['2xx'] === 0)) throw new Error('warm-up: a server answered nothing');
}
const bareResults = [];
const verifiedResults = [];
const listenerResults = [];
const cpu = { bare: 0, verified: 0, listener: 0 };
for (let i = 0; i < rounds; i++) {
  let c = cpuSeconds(bare.child.pid);
  bareResults.push(await load(bare.port));
  cpu.bare += cpuSeconds(bare.child.pid) - c;
  c = cpuSeconds(verified.child.pid);
  verifiedResults.push(await load(verified.port));
  cpu.verified += cpuSeconds(verified.child.pid) - c;
  c = cpuSeconds(listener.child.pid);
  listenerResults.push(await load(listener.port));
  cpu.listener += cpuSeconds(listener.child.pid) - c;
}
const bareRps = summary('bare node http (202)', bareResults);
const verifiedRps = summary('bare + HMAC + JSON.parse', verifiedResults);
const listenerRps = summary('qbuild sysnet listener', listenerResults);
const medianP99 = (results) => { const p = results.map((r) => r.latency.p99).sort((a, b) => a - b); return p[Math.floor(p.length / 2)]; };
const per = (secs, results) => (1e6 * secs / results.reduce((n, r) => n + r['2xx'], 0)).toFixed(0);
console.log(`server CPU per accepted request: bare ${per(cpu.bare, bareResults)} µs, bare + HMAC + JSON.parse ${per(cpu.verified, verifiedResults)} µs, listener ${per(cpu.listener, listenerResults)} µs`);
const journal = readFileSync(join(dir, 'state', 'sysnet', 'queue.jsonl'), 'utf8');
const jobs = journal.split('\n').filter((l) => l.startsWith('{"t":"job"')).length;
const acceptedTotal = listenerResults.reduce((n, r) => n + r['2xx'], 0);
console.log(`jobs in the on-disk queue: ${jobs} (202 answers counted: ${acceptedTotal}; the warm-up's and those after a round's end are not counted)`);
if (jobs < acceptedTotal) throw new Error('fewer jobs on disk than 202 answers: durability is broken');
const rate = (r) => r['2xx'] / r.duration;
const pairs = listenerResults.map((r, i) => rate(r) / rate(bareResults[i])).sort((a, b) => a - b);
const ratio = pairs.length % 2 ? pairs[(pairs.length - 1) / 2] : (pairs[pairs.length / 2 - 1] + pairs[pairs.length / 2]) / 2;
console.log(`ratio of totals listener/bare: ${(listenerRps / bareRps).toFixed(2)}; per round pair: ${pairs.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`ratio listener/bare (median of ${pairs.length} round pairs): ${ratio.toFixed(2)} (target ≥ 0.70) ${ratio >= 0.7 ? 'OK' : 'BELOW TARGET'}`);
// The ratio is the median of per-round-pair ratios (drift-robust); qbuild/baseline shown as req/s totals.
result({ metric: 'webhook listener accepted req/s / bare node http (median of round pairs)', qbuild: bareRps * ratio, baseline: bareRps, unit: 'req/s', better: 'higher', target: 0.7, range: [Number((pairs[0] * bareRps).toFixed(0)), Number((pairs.at(-1) * bareRps).toFixed(0))] });
const vpairs = verifiedResults.map((r, i) => rate(r) / rate(bareResults[i])).sort((a, b) => a - b);
const vratio = vpairs[Math.floor(vpairs.length / 2)];
console.log(`ratio (bare + HMAC + JSON.parse)/bare, the ceiling for a verifying listener here: ${vratio.toFixed(2)}; listener / that ceiling: ${(ratio / vratio).toFixed(2)}`);
result({ metric: 'webhook: bare + HMAC + JSON.parse (the ceiling for any verifying listener) / bare node http', qbuild: bareRps * vratio, baseline: bareRps, unit: 'req/s', better: 'higher', target: 0.7 });
result({ metric: 'webhook listener p99 latency / bare node http p99', qbuild: medianP99(listenerResults), baseline: medianP99(bareResults), unit: 'ms', better: 'lower', target: 2 });
bare.child.kill('SIGTERM');
verified.child.kill('SIGTERM');
listener.child.kill('SIGTERM');
await new Promise((r) => listener.child.once('exit', r));
