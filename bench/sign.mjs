#!/usr/bin/env node
// One detached signature through `qbuild sign` via the simulator, split into client start-up,
// transport, server start-up and signing, next to `gpg --detach-sign` run locally and
// `node -e 0`, all measured in this run. Targets: signing step <= 1x gpg's whole local call;
// end-to-end <= 3x `node -e 0`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) { console.error(`bench/sign: ${bin} missing: run npm run build`); process.exit(2); }
const runs = Number(process.env.RUNS || 25);
const work = mkdtempSync(join(tmpdir(), 'qb-bench-sign-'));
const formula = join(work, 'formula');
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const q = (args, opts = {}) => {
  const r = spawnSync(bin, args, { encoding: 'buffer', ...opts });
  if (r.status !== 0) throw new Error(`qbuild ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r;
};

try {
  // A provisioned sim in `window` gate mode (the ticket path costs one extra file read).
  q(['provision', '--pillar', join(root, 'examples', 'pillar.yml'), '--out', formula]);
  const cfgPath = join(formula, 'files', 'keys-fedora', 'qbuild.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.keys.gate = 'window';
  writeFileSync(cfgPath, JSON.stringify(cfg));
  q(['sim', 'up', '--formula', formula, '--no-daemons'], { env: { ...process.env, QBUILD_BIN: bin } });
  const qube = (vm) => join(formula, 'qubes', vm);
  const env = (vm) => ({ PATH: process.env.PATH, HOME: join(qube(vm), 'home'), QBUILD_SIM: formula, QBUILD_SIM_VM: vm,
    QBUILD_CONFIG: join(qube(vm), 'qbuild.json'), QBUILD_STATE: join(qube(vm), 'state'), QBUILD_BIN: bin });
  q(['role', 'keys', 'import', join(root, 'test/fixtures/keys/gpg-ed25519.sec.asc')], { env: env('keys-fedora') });
  q(['sim', 'call', '--formula', formula, '--from', 'logs', 'dom0', 'qubesbuilder.LogReceived+build-fedora'], { input: '' });

  const data = Buffer.from('bench payload\n'.repeat(100));
  const gnupg = join(work, 'gnupg');
  execFileSync('mkdir', ['-m', '700', gnupg]);
  execFileSync('gpg', ['--batch', '-q', '--import', join(root, 'test/fixtures/keys/gpg-ed25519.sec.asc')], { env: { ...process.env, GNUPGHOME: gnupg } });

  const nodeT = [], gpgT = [], e2e = [], clientStart = [], serverStart = [], signT = [], callT = [];
  const logPath = join(qube('keys-fedora'), 'state', 'keys.log');
  for (let i = 0; i < runs + 2; i++) {
    let t0 = process.hrtime.bigint();
    // Same environment as the qbuild call: an inherited NODE_EXTRA_CA_CERTS alone adds ~90 ms.
    spawnSync(process.execPath, ['-e', '0'], { env: env('build-fedora') });
    const tn = Number(process.hrtime.bigint() - t0) / 1e6;

    t0 = process.hrtime.bigint();
    const g = spawnSync('gpg', ['--batch', '-u', 'ed25519@test.invalid', '--detach-sign'], { env: { ...process.env, GNUPGHOME: gnupg }, input: data });
    const tg = Number(process.hrtime.bigint() - t0) / 1e6;
    if (g.status !== 0) throw new Error(`gpg: ${g.stderr}`);

    t0 = process.hrtime.bigint();
    const r = spawnSync(bin, ['sign', '--detach-sign', '-u', 'ed25519@test.invalid'], { env: { ...env('build-fedora'), QBUILD_SIGN_TIMING: '1' }, input: data });
    const te = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`qbuild sign: ${r.stderr}`);
    if (i < 2) continue; // warm-up
    const timing = /startup_ms=([\d.]+) .*call_ms=([\d.]+)/.exec(r.stderr.toString());
    const last = readFileSync(logPath, 'utf8').trim().split('\n').pop();
    const server = /startup_ms=([\d.]+) sign_ms=([\d.]+)/.exec(last);
    nodeT.push(tn); gpgT.push(tg); e2e.push(te);
    clientStart.push(Number(timing[1])); callT.push(Number(timing[2]));
    serverStart.push(Number(server[1])); signT.push(Number(server[2]));
  }
  const m = (xs) => median(xs).toFixed(1).padStart(7);
  const transport = median(callT) - median(serverStart) - median(signT);
  console.log(`bench/sign: medians of ${runs} runs (one detached Ed25519 signature of ${data.length} bytes)`);
  console.log(`  node -e 0                          ${m(nodeT)} ms`);
  console.log(`  gpg --detach-sign (local)          ${m(gpgT)} ms`);
  console.log(`  qbuild sign via sim, end to end    ${m(e2e)} ms  = ${(median(e2e) / median(nodeT)).toFixed(2)}x node -e 0 (target <= 3x)`);
  console.log(`    client start-up                  ${m(clientStart)} ms`);
  console.log(`    transport (router, frames, exit) ${transport.toFixed(1).padStart(7)} ms`);
  console.log(`    server start-up                  ${m(serverStart)} ms`);
  console.log(`    signing (gate excluded)          ${m(signT)} ms  = ${(median(signT) / median(gpgT)).toFixed(3)}x gpg's whole call (target <= 1x)`);
} finally {
  spawnSync(bin, ['sim', 'down', '--formula', formula]);
  rmSync(work, { recursive: true, force: true });
}
