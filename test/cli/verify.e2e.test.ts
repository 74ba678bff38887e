import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_EXECUTABLES, fixtureComponentFiles } from '../../src/demo/fixture-component.js';
import { World, type JobView } from '../../src/demo/world.js';
import { openCosignatures, parseWitnessVerifierKey } from '../../src/protocol/tlog/cosignature.js';
import { encodeEntry, parseEntry } from '../../src/protocol/tlog/entry.js';
import { entryBundle, parseEntryBundle } from '../../src/protocol/tlog/tiles.js';
import { qbuildBin } from '../helpers/binary.js';
import { run } from '../helpers/run.js';
import { waitFor } from '../helpers/wait.js';
import { startWitness, type TestWitness } from '../helpers/witness.js';
import { startGitHttp } from '../roles/logs/git-http.js';

// The must-show of issue 13, end to end through the simulator and the built binary: a build
// ends with a package `qbuild verify package` accepts from a fresh clone of the logs
// repository the logs qube pushed (over a real git http-backend), with the checkpoint
// cosigned by a witness the keys qube requires; each kind of damage is named; and a witness
// that has seen a newer checkpoint makes the keys qube refuse to sign.
const VM = 'build-fedora';
const ORIGIN = 'qbuild.logs/logs';
const TOKEN = 'logs-push-token-0123456789';
let world: World;
let work: string;
let remote: Awaited<ReturnType<typeof startGitHttp>>;
let witness: TestWitness;
const keys = { log: '', git: '', signing: '' };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'qb-verify-e2e-'));
  mkdirSync(join(work, 'remote'));
  execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', join(work, 'remote', 'logs.git')]);
  remote = await startGitHttp(join(work, 'remote'), () => TOKEN);
  writeFileSync(join(work, 'logs-token'), `${TOKEN}\n`, { mode: 0o600 });
  witness = await startWitness({ name: 'witness.test/w1', dir: join(work, 'witness') });
  world = await World.create({
    work: join(work, 'world'), bin: qbuildBin(), component: 'fixture', recipe: 'rpm', envs: [{ name: 'fedora', dists: ['vm-fc42'] }],
    settings: [
      { vm: 'logs', section: 'logs', values: { remote: { url: `${remote.url}/logs.git`, tokenFile: join(work, 'logs-token') }, witnesses: [{ url: witness.url, vkey: witness.vkey }] } },
      { vm: 'keys-fedora', section: 'keys', values: { witnesses: [witness.vkey], witnessQuorum: 1 } },
    ],
  });
  keys.log = (await world.inQube('logs', ['role', 'logs', 'verifier-key'])).stdout.trim();
  witness.trust(ORIGIN, keys.log);
  writeFileSync(join(work, 'logs-git.asc'), (await world.inQube('logs', ['role', 'logs', 'git-key'])).stdout);
  keys.git = join(work, 'logs-git.asc');
  keys.signing = await world.signingKeyFile('fedora');
}, 180_000);
afterAll(async () => {
  await world?.down();
  await witness?.close();
  await remote?.close();
  rmSync(work, { recursive: true, force: true });
});

let clones = 0;
/** A fresh `git clone` of what the logs qube pushed, as an auditor makes one (async: the remote is served by this process). */
async function clone(): Promise<string> {
  const d = join(work, `clone-${++clones}`);
  const r = await run('git', ['clone', '-q', '-b', 'main', `${remote.url.replace('//', `//qbuild:${TOKEN}@`)}/logs.git`, d], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  if (r.code !== 0) throw new Error(`git clone: ${r.stderr}`);
  return d;
}

async function verify(repo: string, ...args: string[]) {
  const r = await run(qbuildBin(), ['verify', ...args, '--logs-repo', repo, '--log-key', keys.log, '--git-key', keys.git]);
  return { code: r.code, out: r.stdout.toString('utf8'), err: r.stderr.trim() };
}

async function build(version: string): Promise<JobView> {
  await world.release(version, fixtureComponentFiles(version), FIXTURE_EXECUTABLES);
  const before = world.jobs(VM).length;
  expect(await world.pushWebhook()).toBe(202);
  return waitFor(`the job of ${version} to end`, () => {
    const all = world.jobs(VM);
    return all.length > before && all.every((j) => j.finishedAt) ? all[before] : undefined;
  }, 300_000);
}

const rpmDir = () => join(world.repositoryRoot('fedora'), 'rpm', 'r4.3', 'current-testing', 'vm', 'fc42');
const rpm = () => join(rpmDir(), 'rpm', 'qbuild-fixture-1.0.0-1.fc42.noarch.rpm');
let buildLog = '';

describe('qbuild verify, end to end', () => {
  it('a built package verifies from a fresh clone of the pushed logs repository, its checkpoint cosigned by the witness', async () => {
    const job = await build('1.0.0');
    expect(job.state, job.reason).toBe('ok');
    buildLog = job.stages.find((s) => s.name === 'build-vm-fc42')!.log!;
    const last = job.stages.at(-1)!.log!;
    // Tickets wait for the push; the last stage's log (nothing to sign) may still be on its way.
    const d = await waitFor('the logs qube to push every log of the job', async () => {
      const c = await clone().catch(() => undefined);
      if (c && existsSync(join(c, last))) return c;
      await new Promise((r) => setTimeout(r, 500));
      return undefined;
    }, 60_000);

    const v = await verify(d, 'package', rpm(), '--signing-key', keys.signing, '--witness-key', witness.vkey);
    expect(v.err).toBe('');
    expect(v.code).toBe(0);
    expect(v.out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3, l.indexOf(':')))).toEqual(
      ['signature', 'checkpoint', 'cosignatures', 'tiles', 'entries', 'ledger entry', 'inclusion', 'log file', 'git commit', 'provenance']);
    expect(v.out).toMatch(/ok cosignatures: witness\.test\/w1 at /);
    expect(v.out).toContain(`ok ledger entry: leaf `);
    expect(v.out).toContain(`${buildLog} names qbuild-fixture-1.0.0-1.fc42.noarch.rpm`);
    expect(v.out).toMatch(/ok provenance: .*built by https:\/\/qbuild\.invalid\/builders\/fedora\/build-fedora from fixture v1\.0\.0 [0-9a-f]{12} r4\.3 vm-fc42/);

    const repomd = join(rpmDir(), 'repodata', 'repomd.xml');
    const m = await verify(d, 'package', repomd, '--signature', `${repomd}.asc`, '--signing-key', keys.signing);
    expect([m.code, m.err]).toEqual([0, '']);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([0, '']);
    expect(l.out).toMatch(/ok history: \d+ checkpoints in the git history, each signed and consistent/);

    // The published checkpoint carries the witness's cosignature (what the keys qube required).
    const note = readFileSync(join(d, 'checkpoint'), 'utf8');
    expect(openCosignatures(note, [parseWitnessVerifierKey(witness.vkey)]).map((c) => c.name)).toEqual(['witness.test/w1']);
    expect(witness.requests.filter((r) => r.status === 200).length).toBeGreaterThan(0);
  }, 420_000);

  it('names each kind of damage: a changed log byte, a removed entry, a wrong entry, a forged checkpoint signature', async () => {
    const changed = await clone();
    const p = join(changed, buildLog);
    const b = readFileSync(p);
    b[Math.floor(b.length / 2)] ^= 1;
    writeFileSync(p, b);
    const v1 = await verify(changed, 'package', rpm(), '--signing-key', keys.signing);
    expect([v1.code, v1.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: log file: .* the log was changed$/)]);

    // The entry bundle holding the build log's entry, and that entry's place in it.
    const entriesOf = (d: string) => {
      const dir = join(d, 'tile', 'entries');
      const name = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n').sort().pop()!;
      return { file: name, entries: parseEntryBundle(readFileSync(name)) };
    };
    const removed = await clone();
    const r = entriesOf(removed);
    const at = r.entries.findIndex((e) => parseEntry(e).path === buildLog);
    expect(at).toBeGreaterThanOrEqual(0);
    writeFileSync(r.file, entryBundle(r.entries.filter((_, i) => i !== at)));
    const v2 = await verify(removed, 'package', rpm(), '--signing-key', keys.signing);
    expect([v2.code, v2.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: entries: .*holds \d+ entries, not \d+$/)]);

    const wrong = await clone();
    const w = entriesOf(wrong);
    const e = parseEntry(w.entries[at]!);
    w.entries[at] = encodeEntry({ ...e, logSha256: 'f'.repeat(64) });
    writeFileSync(w.file, entryBundle(w.entries));
    const v3 = await verify(wrong, 'log', buildLog);
    expect([v3.code, v3.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: entries: .*does not hash to leaf \d+$/)]);

    const forged = await clone();
    const note = readFileSync(join(forged, 'checkpoint'), 'utf8');
    const line = note.split('\n').find((l) => l.startsWith('\u2014 qbuild-logs/logs '))!;
    const sig = Buffer.from(line.split(' ')[2]!, 'base64');
    sig[20] ^= 0xff;
    writeFileSync(join(forged, 'checkpoint'), note.replace(line, `\u2014 qbuild-logs/logs ${sig.toString('base64')}`));
    const v4 = await verify(forged, 'package', rpm(), '--signing-key', keys.signing);
    expect([v4.code, v4.err]).toEqual([1, 'qbuild: verify: checkpoint: signed note: signature by qbuild-logs/logs does not verify']);
  }, 120_000);

  it('a witness that has seen a newer checkpoint refuses (409), and the keys qube, requiring it, refuses to sign', async () => {
    const held = witness.held(ORIGIN)!;
    witness.hold(ORIGIN, held + 1000, Buffer.alloc(32, 9));
    const job = await build('1.0.1');
    expect(job.state).toBe('failed');
    expect(job.stages.find((s) => s.status === 'failed')?.name).toBe('sign-vm-fc42');
    expect(witness.requests.some((r) => r.status === 409)).toBe(true);
    expect(witness.requests.filter((r) => r.status === 200).every((r) => (r.size ?? 0) <= held)).toBe(true);
    const keysLog = readFileSync(join(world.stateDir('keys-fedora'), 'keys.log'), 'utf8');
    expect(keysLog).toMatch(/witness quorum not met: 0 of the 1 configured witnesses cosigned checkpoint \d+, 1 required/);
    expect(existsSync(join(rpmDir(), 'rpm', 'qbuild-fixture-1.0.1-1.fc42.noarch.rpm'))).toBe(false);
  }, 420_000);
});
