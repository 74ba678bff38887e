#!/usr/bin/env node
// One detached signature through `qbuild sign` via the simulator, both ways the keys VM can
// offer qubes.Gpg (pillar keys-service): `process` (a `qbuild rpc` per call) and `socket` (the
// resident keys daemon behind a qrexec socket service), split into client start-up, transport,
// server start-up and signing, next to `gpg --detach-sign` run locally and `node -e 0`, all
// measured in this run, interleaved. Targets (socket): end to end <= 2x `node -e 0`; signing
// step <= 1x gpg's whole local call.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { result } from './lib/result.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) { console.error(`bench/sign: ${bin} missing: run npm run build`); process.exit(2); }
const runs = Number(process.env.RUNS || 25);
const work = mkdtempSync(join(tmpdir(), 'qb-bench-sign-'));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const q = (args, opts = {}) => {
  const r = spawnSync(bin, args, { encoding: 'buffer', ...opts });
  if (r.status !== 0) throw new Error(`qbuild ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r;
};
const formulas = [];
const daemons = [];

/** A provisioned sim in `window` gate mode (the ticket path costs one extra file read), keys offered as `mode`. */
async function world(mode) {
  const formula = join(work, `formula-${mode}`);
  const pillar = join(work, `pillar-${mode}.yml`);
  writeFileSync(pillar, readFileSync(join(root, 'examples', 'pillar.yml'), 'utf8').replace(/^build-infra:\n/m, `build-infra:\n  keys-service: ${mode}\n`));
  q(['provision', '--pillar', pillar, '--out', formula]);
  const cfgPath = join(formula, 'files', 'keys-fedora', 'qbuild.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.keys.gate = 'window';
  writeFileSync(cfgPath, JSON.stringify(cfg));
  // No daemons but the keys one: nothing else competes for the cores during the measurement.
  q(['sim', 'up', '--formula', formula, '--no-daemons'], { env: { ...process.env, QBUILD_BIN: bin } });
  formulas.push(formula);
  const qube = (vm) => join(formula, 'qubes', vm);
  const env = (vm) => ({ PATH: process.env.PATH, HOME: join(qube(vm), 'home'), QBUILD_SIM: formula, QBUILD_SIM_VM: vm,
    QBUILD_CONFIG: join(qube(vm), 'qbuild.json'), QBUILD_STATE: join(qube(vm), 'state'), QBUILD_BIN: bin });
  q(['role', 'keys', 'import', join(root, 'test/fixtures/keys/gpg-ed25519.sec.asc')], { env: env('keys-fedora') });
  if (mode === 'socket') {
    const d = spawn(bin, ['role', 'keys', '--serve'], { env: env('keys-fedora'), stdio: 'ignore' });
    daemons.push(d);
    const sock = join(qube('keys-fedora'), 'state', 'rpc', 'qubes.Gpg');
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 25));
    if (!existsSync(sock)) throw new Error('keys daemon did not bind its socket');
  }
  q(['sim', 'call', '--formula', formula, '--from', 'logs', 'dom0', 'qubesbuilder.LogReceived+build-fedora'], { input: '' });
  return { mode, env, logPath: join(qube('keys-fedora'), 'state', 'keys.log') };
}

try {
  const worlds = [await world('process'), await world('socket')];
  const data = Buffer.from('bench payload\n'.repeat(100));
  const gnupg = join(work, 'gnupg');
  execFileSync('mkdir', ['-m', '700', gnupg]);
  execFileSync('gpg', ['--batch', '-q', '--import', join(root, 'test/fixtures/keys/gpg-ed25519.sec.asc')], { env: { ...process.env, GNUPGHOME: gnupg } });

  const nodeT = [], gpgT = [];
  const per = Object.fromEntries(worlds.map((w) => [w.mode, { e2e: [], clientStart: [], serverStart: [], signT: [], callT: [] }]));
  for (let i = 0; i < runs + 2; i++) {
    let t0 = process.hrtime.bigint();
    // Same environment as the qbuild call: an inherited NODE_EXTRA_CA_CERTS alone adds ~90 ms.
    spawnSync(process.execPath, ['-e', '0'], { env: worlds[0].env('build-fedora') });
    const tn = Number(process.hrtime.bigint() - t0) / 1e6;

    t0 = process.hrtime.bigint();
    const g = spawnSync('gpg', ['--batch', '-u', 'ed25519@test.invalid', '--detach-sign'], { env: { ...process.env, GNUPGHOME: gnupg }, input: data });
    const tg = Number(process.hrtime.bigint() - t0) / 1e6;
    if (g.status !== 0) throw new Error(`gpg: ${g.stderr}`);
    if (i >= 2) { nodeT.push(tn); gpgT.push(tg); }

    for (const w of worlds) {
      t0 = process.hrtime.bigint();
      const r = spawnSync(bin, ['sign', '--detach-sign', '-u', 'ed25519@test.invalid'], { env: { ...w.env('build-fedora'), QBUILD_SIGN_TIMING: '1' }, input: data });
      const te = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`qbuild sign (${w.mode}): ${r.stderr}`);
      if (i < 2) continue; // warm-up
      const timing = /startup_ms=([\d.]+) .*call_ms=([\d.]+)/.exec(r.stderr.toString());
      const last = readFileSync(w.logPath, 'utf8').trim().split('\n').pop();
      const server = /startup_ms=([\d.]+) sign_ms=([\d.]+)/.exec(last);
      const p = per[w.mode];
      p.e2e.push(te); p.clientStart.push(Number(timing[1])); p.callT.push(Number(timing[2]));
      p.serverStart.push(Number(server[1])); p.signT.push(Number(server[2]));
    }
  }
  const m = (xs) => median(xs).toFixed(1).padStart(7);
  const range = (xs) => [Math.min(...xs), Math.max(...xs)].map((x) => Number(x.toFixed(1)));
  console.log(`bench/sign: medians of ${runs} interleaved runs (one detached Ed25519 signature of ${data.length} bytes)`);
  console.log(`  node -e 0                          ${m(nodeT)} ms   (range ${range(nodeT).join('-')})`);
  console.log(`  gpg --detach-sign (local)          ${m(gpgT)} ms   (range ${range(gpgT).join('-')})`);
  for (const w of worlds) {
    const p = per[w.mode];
    const transport = median(p.callT) - median(p.serverStart) - median(p.signT);
    const target = w.mode === 'socket' ? 2 : 3;
    console.log(`  qbuild sign via sim, keys-service ${w.mode.padEnd(7)} ${m(p.e2e)} ms  = ${(median(p.e2e) / median(nodeT)).toFixed(2)}x node -e 0 (target <= ${target}x; range ${range(p.e2e).join('-')})`);
    console.log(`    client start-up                  ${m(p.clientStart)} ms`);
    console.log(`    transport (router, frames, exit) ${transport.toFixed(1).padStart(7)} ms`);
    console.log(`    server start-up                  ${m(p.serverStart)} ms`);
    console.log(`    signing (gate excluded)          ${m(p.signT)} ms  = ${(median(p.signT) / median(gpgT)).toFixed(3)}x gpg's whole call (target <= 1x)`);
  }
  const sock = per.socket;
  result({ metric: 'qbuild sign end to end (socket keys service) / node -e 0', qbuild: median(sock.e2e), baseline: median(nodeT), unit: 'ms', better: 'lower', target: 2, range: range(sock.e2e) });
  result({ metric: 'qbuild sign end to end (per-call keys process) / node -e 0', qbuild: median(per.process.e2e), baseline: median(nodeT), unit: 'ms', better: 'lower', target: 3, range: range(per.process.e2e) });
  result({ metric: 'signing step in the keys VM / local gpg --detach-sign', qbuild: median(sock.signT), baseline: median(gpgT), unit: 'ms', better: 'lower', target: 1, range: range(sock.signT) });
} finally {
  for (const d of daemons) d.kill('SIGTERM');
  for (const f of formulas) spawnSync(bin, ['sim', 'down', '--formula', f]);
  rmSync(work, { recursive: true, force: true });
}
