import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { extractClearsignedBlock } from '../../../../src/protocol/github/comment.js';
import { repoRoot } from '../../../helpers/binary.js';
import { TestSigner } from '../../../helpers/gpg.js';
import { startSim, type SimHandle } from '../../../helpers/sim.js';
import { waitFor } from '../../../helpers/wait.js';

/**
 * ProcessGithubCommand through the simulator and the binary, as sys-net calls it: each
 * refusal queues nothing and its reason is in the command log the logs qube stored; the
 * accepted ones are queued as command jobs. The build state holds one built core-qrexec
 * (commit C) as a finished build records it: vm-fc42 ten days ago, host-fc41 an hour ago.
 */
const VM = 'build-fedora';
const C = '0123456789abcdef0123456789abcdef01234567';
const D = 'fedcba9876543210fedcba9876543210fedcba98';

let sim: SimHandle;
let maint: TestSigner; // trusted, may do everything
let narrow: TestSigner; // trusted, may upload linux-utils to vm-fc42 only
let stranger: TestSigner; // not a command key
let maintFpr: string;
let narrowFpr: string;

const fprOf = (s: TestSigner): string => /^fpr:+([0-9A-F]{40}):/m.exec(s.gpgSync(['--with-colons', '--list-keys']))![1]!;
const pubOf = (s: TestSigner): string => s.gpgSync(['--armor', '--export']);

function builtRecord(): void {
  const dir = join(sim.stateDir(VM), 'build', 'built');
  mkdirSync(dir, { recursive: true });
  const at = (ms: number) => new Date(Date.now() - ms).toISOString();
  const rec = (ago: number) => ({ version: '4.3.1-1', commit: C, at: at(ago), job: 'seeded', files: ['qubes-core-qrexec-4.3.1-1.fc.x86_64.rpm'] });
  writeFileSync(join(dir, 'core-qrexec.json'), JSON.stringify({ 'vm-fc42': rec(10 * 86_400_000), 'host-fc41': rec(3_600_000) }));
}

beforeAll(async () => {
  maint = new TestSigner();
  narrow = new TestSigner();
  stranger = new TestSigner();
  maintFpr = fprOf(maint);
  narrowFpr = fprOf(narrow);
  const pillar = parse(readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8')) as { 'build-infra': Record<string, unknown> };
  pillar['build-infra'].commands_public_keys = `${pubOf(maint)}${pubOf(narrow)}`;
  pillar['build-infra']['command-maintainers'] = {
    [maintFpr]: { components: '_all_', distributions: '_all_', templates: '_all_', iso: true },
    [narrowFpr]: { components: ['linux-utils'], distributions: ['vm-fc42'] },
  };
  sim = await startSim({ pillar: stringify(pillar), daemons: false });
  builtRecord();
}, 120_000);
afterAll(async () => {
  await sim?.down();
  for (const s of [maint, narrow, stranger]) s?.cleanup();
});

/** Every command log the logs qube stored for the build VM, by path. */
function commandLogs(): Map<string, string> {
  const dir = join(sim.stateDir('logs'), 'store', VM, 'commands');
  let names: string[] = [];
  try { names = readdirSync(dir).filter((n) => n.startsWith('log_')); } catch { /* none yet */ }
  return new Map(names.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
}

const queuedCommands = (): string[] => {
  try { return readdirSync(join(sim.stateDir(VM), 'build', 'queue')).filter((n) => n.startsWith('command.')); } catch { return []; }
};

/** Sends `text` as sys-net does and returns the one new command log it produced (and checks exit 0). */
async function send(text: string): Promise<string> {
  const before = commandLogs();
  const r = await sim.call('sys-net', VM, 'qubesbuilder.ProcessGithubCommand', { stdin: text });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const fresh = [...commandLogs()].filter(([n]) => !before.has(n));
  expect(fresh).toHaveLength(1);
  return fresh[0]![1];
}

/** What sys-net forwards for a comment body (its own extraction: trailing blanks stripped, first block to last). */
const fromComment = (body: string): string => {
  const block = extractClearsignedBlock(body);
  expect(block).toBeDefined();
  return block!;
};

async function refused(text: string, why: RegExp, signer?: string): Promise<void> {
  const queued = queuedCommands();
  const log = await send(text);
  expect(log).toMatch(/verdict: refused: /);
  expect(log.split('\n').find((l) => l.includes('verdict: '))).toMatch(why);
  expect(log).toContain(`signer: ${signer ?? 'none'}`);
  expect(log).not.toMatch(/\bjob: /);
  expect(queuedCommands()).toEqual(queued);
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 12);

describe('ProcessGithubCommand in the simulator: accepted, and each refusal with its reason in the command log', () => {
  let accepted: string;

  it('accepts a maintainer\'s Upload-component: logged with the text as received and the signer, queued as a command job', async () => {
    accepted = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing all\n`);
    const queued = queuedCommands();
    const log = await send(accepted);
    expect(log).toContain(`received: Upload-component r4.3 core-qrexec ${C} security-testing all`);
    expect(log).toContain('received: -----BEGIN PGP SIGNED MESSAGE-----');
    expect(log).toContain(`signer: ${maintFpr}`);
    expect(log).toContain('verdict: accepted');
    expect(log).toContain(`runs: Upload-component r4.3 core-qrexec ${C} security-testing host-fc41 vm-fc42`);
    const job = /job: (\S+)/.exec(log)![1]!;
    expect(queuedCommands()).toEqual([...queued, `command.${job}`].sort());
    const record = JSON.parse(readFileSync(join(sim.stateDir(VM), 'build', 'jobs', `${job}.json`), 'utf8'));
    expect(record).toMatchObject({ kind: 'command', state: 'queued', component: 'core-qrexec', from: 'sys-net', command: { signer: maintFpr, command: { kind: 'upload-component', dists: ['host-fc41', 'vm-fc42'] } } });
  }, 30_000);

  it('refuses the same comment again (replay)', async () => {
    await refused(accepted, /replay: this signature \(sha256 [0-9a-f]{64}\) was accepted before/, maintFpr);
  }, 30_000);

  it('accepts a comment GitHub mangled (CRLF, trailing spaces) once sys-net stripped them, even spaces the maintainer signed', async () => {
    // gpg keeps a signed line's trailing spaces in its output but does not hash them (text mode).
    const block = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} current vm-fc42   \n`);
    expect(block).toContain('current vm-fc42   \n');
    const body = `Please upload:  \r\n\r\n${block.split('\n').map((l) => `${l}  \r`).join('\n')}\r\nthanks`;
    const log = await send(fromComment(body));
    expect(log).toContain('verdict: accepted');
  }, 30_000);

  it('refuses a key not in the trusted set', async () => {
    await refused(stranger.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing all\n`), /which is not a trusted command key/);
  }, 30_000);

  it('refuses a trusted key not authorised for that component, or for that dist', async () => {
    await refused(narrow.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing vm-fc42\n`), /may not upload component core-qrexec/, narrowFpr);
    await refused(narrow.clearsign(`Upload-component r4.3 linux-utils ${C} security-testing host-fc41\n`), /may not upload to dist host-fc41/, narrowFpr);
  }, 30_000);

  it('refuses a Build-template whose timestamp is outside [now - 1 h, now + 5 min]', async () => {
    await refused(maint.clearsign(`Build-template r4.3 fedora-42-xfce ${stamp(new Date(Date.now() - 2 * 3_600_000))}\n`), /outside the allowed window/, maintFpr);
    await refused(maint.clearsign(`Build-template r4.3 fedora-42-xfce ${stamp(new Date(Date.now() + 30 * 60_000))}\n`), /outside the allowed window/, maintFpr);
  }, 30_000);

  it('refuses a comment with two signed blocks', async () => {
    const a = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing vm-fc42\n`);
    const b = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing host-fc41\n`);
    await refused(fromComment(`${a}\n${b}`), /more than one signed block/);
  }, 30_000);

  it('refuses a body whose text differs from what was signed by one space', async () => {
    const signed = maint.clearsign(`Upload-component r4.3 core-qrexec ${C}  security-testing vm-fc42\n`);
    const sent = signed.replace(`${C}  security-testing`, `${C} security-testing`);
    expect(sent).not.toBe(signed);
    // The key is known, but it signed something else: the log names it in the reason, not as the signer.
    await refused(sent, new RegExp(`bad signature by ${maintFpr}: .*did not match`));
  }, 30_000);

  it('passes on the promotion code\'s refusals: a commit that is not the built one, packages younger than min-age-days', async () => {
    await refused(maint.clearsign(`Upload-component r4.3 core-qrexec ${D} security-testing vm-fc42\n`), new RegExp(`built commit of core-qrexec is ${C}`), maintFpr);
    await refused(maint.clearsign(`Upload-component r4.3 core-qrexec ${C} current host-fc41\n`), /less than min-age-days \(5\)/, maintFpr);
  }, 30_000);

  it('a command accepted but not queued (the queue unusable, as on a full disk) exits 1 and is forgotten: sys-net\'s retry is accepted', async () => {
    const text = maint.clearsign(`Upload-component r4.3 core-qrexec ${C} security-testing host-fc41\n`);
    const queue = join(sim.stateDir(VM), 'build', 'queue');
    renameSync(queue, `${queue}.away`);
    writeFileSync(queue, '');
    const logs = commandLogs().size;
    try {
      const r = await sim.call('sys-net', VM, 'qubesbuilder.ProcessGithubCommand', { stdin: text });
      expect([r.code, r.stderr.trim()]).toEqual([1, expect.stringMatching(/^qbuild: rpc qubesbuilder\.ProcessGithubCommand: cannot queue the command in .*\/build\/queue: /)]);
      expect(readdirSync(join(sim.stateDir(VM), 'build', 'commands', 'seen'))).toHaveLength(2);
      expect(commandLogs().size).toBe(logs);
    } finally {
      rmSync(queue);
      renameSync(`${queue}.away`, queue);
    }
    const log = await send(text);
    expect(log).toContain('verdict: accepted');
  }, 30_000);

  it('the build daemon runs the accepted commands as jobs, one at a time, and logs each result in the command log', async () => {
    const jobsDir = join(sim.stateDir(VM), 'build', 'jobs');
    const commandJobs = () => readdirSync(jobsDir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(jobsDir, n), 'utf8')))
      .filter((j) => j.kind === 'command').sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(commandJobs()).toHaveLength(3);
    const daemon = sim.spawn(VM, ['role', 'build', '--serve']);
    try {
      const results = () => [...commandLogs().values()].filter((l) => l.includes('qbuild command result: job '));
      await waitFor('the three command results in the command log', () => results().length === 3, 90_000);
      const jobs = commandJobs();
      expect(jobs.every((j) => j.state !== 'queued' && j.state !== 'running')).toBe(true);
      for (const j of jobs) {
        const log = results().find((l) => l.includes(`qbuild command result: job ${j.id} `))!;
        expect(log).toContain(`command: ${j.command.line}`);
        expect(log).toContain(`signer: ${maintFpr}`);
        expect(log).toContain(`signature: sha256 ${j.command.digest}`);
        expect(log).toContain(`result: ${j.state}`);
      }
      // One at a time: the second started after the first finished.
      expect(Date.parse(jobs[1].stages[0]?.startedAt ?? jobs[1].finishedAt)).toBeGreaterThanOrEqual(Date.parse(jobs[0].finishedAt));
      expect(queuedCommands()).toEqual([]);
    } finally {
      daemon.kill('SIGTERM');
    }
  }, 150_000);
});
