#!/usr/bin/env node
// The build pipeline, trigger → uploaded, for the fixture RPM component through the simulator
// (webhook into sys-net, TriggerBuild, the build daemon's stages, logs, tickets, keys qube,
// rsync through local.ConnectSSH), split per stage, next to the same tool chain run directly
// in the same run (git clone + verify-tag, rpmbuild, rpmsign with local gpg, createrepo_c +
// gpg, rsync over ssh to the same sshd). Target: <= 1.5x the direct chain.
// Then the build daemon's peak RSS while a recipe prints 1 GiB (target < 150 MB), and that
// build stage's time against the same command writing to /dev/null (target: <= 1.1x).
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { result } from './lib/result.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.QBUILD_BIN || join(root, 'dist', 'qbuild');
if (!existsSync(bin)) { console.error(`bench/pipeline: ${bin} missing: run npm run build`); process.exit(2); }
const outMiB = Number(process.env.OUTPUT_MIB || 1024);
// BUILD_SECONDS=N makes the fixture's %build take N s more (in both chains): a real
// component's build is minutes, and qbuild's cost is per stage, not per second of build.
const buildSeconds = Number(process.env.BUILD_SECONDS || 0);
const sources = (v) => {
  const f = fixtureComponentFiles(v);
  if (buildSeconds > 0) f['qbuild-fixture.spec'] = f['qbuild-fixture.spec'].replace('%build\n', `%build\nsleep ${buildSeconds}\n`);
  return f;
};
const work = mkdtempSync(join(tmpdir(), 'qb-bench-pipeline-'));

// The dev-box world (src/demo/world.ts) is TypeScript: bundle it for this script.
async function load(entry) {
  const r = await build({ entryPoints: [join(root, entry)], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'error' });
  return import(`data:text/javascript;base64,${Buffer.from(r.outputFiles[0].text).toString('base64')}`);
}
const { World, expectJob } = await load('src/demo/world.ts');
const { fixtureComponentFiles, FIXTURE_EXECUTABLES } = await load('src/demo/fixture-component.ts');

const ms = (a, b) => Date.parse(b) - Date.parse(a);
const t = async (f) => { const t0 = process.hrtime.bigint(); await f(); return Number(process.hrtime.bigint() - t0) / 1e6; };
// Asynchronous: the git server of the world runs in this very process.
const run = promisify(execFile);
const sh = async (cmd, args, opts = {}) => (await run(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts })).stdout;
const fmt = (x) => `${(x / 1000).toFixed(2)} s`;

let world;
try {
  // 1. Through qbuild.
  world = await World.create({ work: join(work, 'world'), bin, component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }] });
  await world.release('1.0.0', sources('1.0.0'), FIXTURE_EXECUTABLES);
  const t0 = new Date().toISOString();
  if ((await world.pushWebhook()) !== 202) throw new Error('webhook not accepted');
  const job = expectJob(await world.finishedJob('build-fedora', 0), 'ok');
  const total = ms(t0, job.finishedAt);
  const stages = job.stages.map((s) => [s.name, ms(s.startedAt, s.endedAt)]);
  const queued = ms(t0, job.stages[0].startedAt);

  // 2. The same tool chain, run directly, on the same source and to the same sshd.
  const d = join(work, 'direct');
  mkdirSync(d, { recursive: true });
  const gnupg = join(d, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const genv = { ...process.env, GNUPGHOME: gnupg };
  await sh('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Direct chain <direct@bench.invalid>', 'ed25519', 'sign', '1y'], { env: genv });
  const sshKey = join(d, 'id_ed25519');
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', sshKey]);
  world.sshd.authorize(readFileSync(`${sshKey}.pub`, 'utf8'));
  const knownHosts = join(d, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${world.sshd.port} ${world.sshd.hostKey.type} ${world.sshd.hostKey.key}\n`);
  // The maintainer's key, to verify the tag as the fetch stage does.
  const tagKeys = join(d, 'tag-gnupg');
  mkdirSync(tagKeys, { mode: 0o700 });
  execFileSync('sh', ['-c', `gpg --homedir '${world.maintainerHome.dir}' --export | gpg --homedir '${tagKeys}' --batch --import`], { stdio: 'pipe' });
  const src = join(d, 'src');
  const top = join(d, 'rpmbuild');
  const repo = join(d, 'repo');
  const direct = {
    fetch: await t(async () => {
      await sh('git', ['clone', '-q', '--branch', 'v1.0.0', world.git.url('qubes-fixture'), src]);
      await sh('git', ['-C', src, 'verify-tag', 'v1.0.0'], { env: { ...process.env, GNUPGHOME: tagKeys } });
    }),
    build: await t(async () => {
      mkdirSync(join(top, 'SOURCES'), { recursive: true });
      await sh('git', ['-C', src, 'archive', '--prefix=qbuild-fixture-1.0.0/', '-o', join(top, 'SOURCES', 'qbuild-fixture-1.0.0.tar.gz'), 'HEAD']);
      await sh('rpmbuild', ['-ba', '--define', `_topdir ${top}`, '--define', 'dist .fc42', join(src, 'qbuild-fixture.spec')]);
    }),
    sign: await t(async () => {
      const rpms = [...readdirSync(join(top, 'RPMS', 'noarch')).map((n) => join(top, 'RPMS', 'noarch', n)), ...readdirSync(join(top, 'SRPMS')).map((n) => join(top, 'SRPMS', n))];
      await sh('rpmsign', ['--addsign', '--define', '__gpg /usr/bin/gpg', '--define', '_gpg_name Direct chain', ...rpms], { env: genv });
    }),
    publish: await t(async () => {
      mkdirSync(join(repo, 'rpm'), { recursive: true });
      for (const n of readdirSync(join(top, 'RPMS', 'noarch'))) execFileSync('cp', [join(top, 'RPMS', 'noarch', n), join(repo, 'rpm')]);
      await sh('createrepo_c', ['-q', repo]);
      await sh('gpg', ['--batch', '--yes', '--detach-sign', '--armor', join(repo, 'repodata', 'repomd.xml')], { env: genv });
    }),
    upload: await t(async () => {
      await sh('rsync', ['--partial', '--hard-links', '-OJair', '--mkpath', '-e',
        `ssh -p ${world.sshd.port} -i ${sshKey} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHosts} -o BatchMode=yes`,
        `${repo}/`, `${world.sshd.user}@127.0.0.1:${world.sshd.root}/direct/current-testing/vm/fc42/`]);
    }),
  };
  const directTotal = Object.values(direct).reduce((a, b) => a + b, 0);
  await world.down();
  world = undefined;

  console.log(`pipeline: trigger (push webhook) -> uploaded, fixture RPM component, vm-fc42${buildSeconds ? `, %build sleeps ${buildSeconds} s` : ''}`);
  console.log(`  queue (webhook -> sys-net -> TriggerBuild -> daemon starts the job): ${fmt(queued)}`);
  for (const [name, v] of stages) console.log(`  ${name.padEnd(18)} ${fmt(v)}`);
  console.log(`  total ${fmt(total)}`);
  console.log('direct chain, same source and sshd:');
  for (const [name, v] of Object.entries(direct)) console.log(`  ${name.padEnd(18)} ${fmt(v)}`);
  console.log(`  total ${fmt(directTotal)}`);
  console.log(`ratio qbuild / direct: ${(total / directTotal).toFixed(2)}x (target <= 1.5x); qbuild's own cost ${fmt(total - directTotal)}`);
  result({ metric: 'pipeline trigger -> uploaded / the same tool chain run directly', qbuild: total, baseline: directTotal, unit: 'ms', better: 'lower', target: 1.5 });

  // 3. A recipe printing OUTPUT_MIB of output: the daemon's peak RSS and the build stage's time.
  const line = 'qbuild bench: a line of recipe output, as a chatty build prints it, about one hundred bytes....';
  const cmd = `yes '${line}' | head -c ${outMiB * 1048576}`;
  const baseline = await t(() => sh('sh', ['-c', `${cmd} > /dev/null`]));
  world = await World.create({
    work: join(work, 'world-output'), bin, component: 'chatty', recipe: 'command', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    extraComponentPillar: `command: [sh, -c, "${cmd}"]\noutput-cap: 4GiB`,
  });
  // First (while the logs qube is idle), the same bytes straight into qubesbuilder.BuildLog from the build qube: the logs qube's
  // durable ingest, which a recipe streaming live can never beat.
  const ingest = await t(() => sh('sh', ['-c', `${cmd} | '${bin}' sim call --formula '${world.formula}' --from build-fedora dom0 qubesbuilder.BuildLog+ingest > /dev/null`]));
  // …and let the logs qube publish that log (a git commit of 1 GiB) before the build starts.
  const store = join(world.stateDir('logs'), 'store');
  for (let i = 0; i < 600; i++) {
    const log = await sh('git', ['-C', store, 'log', '--format=%s']).catch(() => '');
    if (log.includes('/ingest/')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await world.release('1.0.0', { README: 'prints a lot\n' }, []);
  if ((await world.pushWebhook()) !== 202) throw new Error('webhook not accepted');
  const pidFile = join(world.stateDir('build-fedora'), 'build', 'daemon.pid');
  let peak = 0;
  const sample = setInterval(() => {
    try {
      const pid = readFileSync(pidFile, 'utf8').trim();
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch { /* between daemons */ }
  }, 100);
  const out = await world.finishedJob('build-fedora', 0, 900_000);
  clearInterval(sample);
  const b = out.stages.find((s) => s.name === 'build-vm-fc42');
  const buildMs = ms(b.startedAt, b.endedAt);
  console.log(`recipe printing ${outMiB} MiB: the build daemon's peak RSS ${(peak / 1e6).toFixed(1)} MB (target < 150 MB)`);
  console.log(`  build stage ${fmt(buildMs)} vs the recipe writing to /dev/null ${fmt(baseline)}: ${(buildMs / baseline).toFixed(2)}x (target <= 1.1x)`);
  console.log(`  the same bytes straight into BuildLog (the logs qube's durable ingest) ${fmt(ingest)}: build stage / ingest ${(buildMs / ingest).toFixed(2)}x`);
  result({ metric: `build daemon peak RSS, recipe printing ${outMiB} MiB (limit 150 MB)`, qbuild: peak / 1e6, baseline: 150, unit: 'MB', better: 'lower', target: 1, peakMB: Number((peak / 1e6).toFixed(1)) });
  result({ metric: `build stage printing ${outMiB} MiB / the recipe writing to /dev/null`, qbuild: buildMs, baseline, unit: 'ms', better: 'lower', target: 1.1 });
} finally {
  await world?.down();
  rmSync(work, { recursive: true, force: true });
}
