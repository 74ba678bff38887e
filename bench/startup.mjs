#!/usr/bin/env node
// Start-up time of `qbuild rpc qbuild.Noop` (what every qrexec call pays on the service side)
// as a ratio to `node -e 0`, both measured here in the same run. Target: <= 1.5x.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { result } from './lib/result.mjs';

const bin = process.env.QBUILD_BIN || fileURLToPath(new URL('../dist/qbuild', import.meta.url));
if (!existsSync(bin)) { console.error(`bench/startup: ${bin} missing: run npm run build`); process.exit(2); }
const runs = Number(process.env.RUNS || 30);
const env = { PATH: process.env.PATH, QREXEC_REMOTE_DOMAIN: 'build-bench', QREXEC_SERVICE_FULL_NAME: 'qbuild.Noop' };

function median(cmd, args) {
  const times = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: 'ignore' });
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) { console.error(`bench/startup: ${cmd} ${args.join(' ')} exited ${r.status}`); process.exit(1); }
    if (i >= 3) times.push(dt); // the first runs warm the page cache
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

// Interleave to share any drift in machine load between both sides.
const node = [], qb = [];
for (let round = 0; round < 3; round++) {
  node.push(median(process.execPath, ['-e', '0']));
  qb.push(median(bin, ['rpc', 'qbuild.Noop']));
}
const n = Math.min(...node), q = Math.min(...qb);
console.log(`node -e 0                 median ${n.toFixed(1)} ms`);
console.log(`qbuild rpc qbuild.Noop    median ${q.toFixed(1)} ms`);
console.log(`ratio ${(q / n).toFixed(2)}x (target <= 1.50x)`);
const fmt = (xs) => xs.map((x) => Number(x.toFixed(1)));
result({ metric: 'qrexec service start-up (qbuild rpc qbuild.Noop) / node -e 0', qbuild: q, baseline: n, unit: 'ms', better: 'lower', target: 1.5, range: [Math.min(...fmt(qb)), Math.max(...fmt(qb))] });
