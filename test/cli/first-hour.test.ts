/**
 * README.md's "Using it" commands, read from README itself and run as written, end to end; then
 * what a new user would expect of the simulator they started: no daemon restarted, a log with a
 * `qbuild-sign` line yields a ticket in the keys qube, and a signed webhook is queued and
 * delivered. Also: README's two set-up commands are the ones package.json and .ci/run run.
 *
 * The only changes to README's lines (each documented where it is made, in `substitute`):
 * `dist/qbuild` is the binary under test (QBUILD_BIN), `/tmp/f` a fresh temp dir, and
 * `npm run build` is skipped (the binary under test is already built). Each line runs in
 * bash from the repository root, as a user pastes it, with no QBUILD_* variables set.
 * The ticket is checked as the keys qube sees it (its stored ticket and its grant), not by
 * parsing the ticket format here. The checks run after every line that starts and uses the simulator and before the last,
 * `sim down`, which must then stop it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../src/protocol/github/signature.js';
import { simPaths } from '../../src/protocol/qrexec/sim/layout.js';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { run, type RunResult } from '../helpers/run.js';
import { waitFor } from '../helpers/wait.js';
import { githubExample } from '../protocol/github/fixtures.js';
import { deliver } from '../roles/sysnet/sim-helpers.js';

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The lines of the first code block (4-space indented or fenced) after `heading`, comments stripped. */
function commandsUnder(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  let i = lines.indexOf(heading);
  if (i < 0) throw new Error(`README has no "${heading}" heading`);
  const block: string[] = [];
  for (i++; i < lines.length && !lines[i]!.startsWith('## '); i++) {
    const l = lines[i]!;
    if (l.startsWith('```')) {
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) block.push(lines[i]!);
      break;
    }
    if (l.startsWith('    ')) block.push(l.slice(4));
    else if (block.length && l.trim() !== '') break;
  }
  // A `#` after white space starts a comment (no command here has a `#` of its own).
  return block.map((l) => l.replace(/(^|\s)#.*$/, '').trim()).filter((l) => l !== '');
}

const USING_IT = commandsUnder(README, '## Using it');

/**
 * README's line as this test runs it: `dist/qbuild` (as a word) is the binary under test and
 * `/tmp/f` the test's own formula dir; nothing else changes. `npm run build` is skipped
 * (undefined): the binary under test is given, already built.
 */
function substitute(line: string, bin: string, formula: string): string | undefined {
  if (line === 'npm run build') return undefined;
  return line.replace(/(^|[\s|;&])dist\/qbuild(?=\s|$)/g, `$1${bin}`).replace(/(^|\s)\/tmp\/f(?=\s|$)/g, `$1${formula}`);
}

/** A user's shell: no QBUILD_* variables from the test runner (QBUILD_BIN included). */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('QBUILD_')));
}

const bin = qbuildBin();
const tmp = mkdtempSync(join(tmpdir(), 'qbuild-first-hour-'));
const formula = join(tmp, 'f');
const q = (vm: string) => simPaths(formula).qube(vm);
const results: { line: string; r: RunResult }[] = [];
const HASH = 'd4'.repeat(32);

/** The TriggerBuild records a build qube's inbox holds (one JSON line each). */
function triggers(vm: string): Record<string, unknown>[] {
  const f = join(q(vm).state, 'inbox', 'trigger.jsonl');
  if (!existsSync(f)) return [];
  // Complete lines only: a record may be being appended while this polls.
  return readFileSync(f, 'utf8').split('\n').slice(0, -1).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function shell(line: string, stdin?: string): Promise<RunResult> {
  return run('bash', ['-o', 'pipefail', '-c', line], { cwd: repoRoot, env: userEnv(), stdin });
}

async function qbuild(args: string[], stdin?: string): Promise<RunResult> {
  return run(bin, args, { cwd: repoRoot, env: userEnv(), stdin });
}

const last = USING_IT[USING_IT.length - 1]!;

beforeAll(async () => {
  for (const line of USING_IT.slice(0, -1)) {
    const cmd = substitute(line, bin, formula);
    if (cmd === undefined) continue;
    results.push({ line, r: await shell(cmd) });
  }
}, 120_000);

afterAll(async () => {
  // Whatever happened above: no simulator left running, no temp dir left behind.
  if (existsSync(simPaths(formula).routerPid)) await qbuild(['sim', 'down', '--formula', formula]);
  rmSync(tmp, { recursive: true, force: true });
});

describe("README's \"Using it\", as written", () => {
  it('is the commands this test expects to find (the block was parsed, not guessed)', () => {
    expect(USING_IT[0]).toBe('npm run build');
    expect(USING_IT.filter((l) => l.startsWith('dist/qbuild sim up '))).toHaveLength(1);
    expect(last).toBe('dist/qbuild sim down --formula /tmp/f');
    for (const l of USING_IT.slice(1)) expect(l).toMatch(/(^|\| )dist\/qbuild /);
    expect(results.map((x) => x.line)).toEqual(USING_IT.slice(1, -1));
  });

  it('runs each line with exit 0', () => {
    for (const { line, r } of results) expect(r.code, `${line}: ${r.stderr}`).toBe(0);
    const up = results.find((x) => x.line.includes(' sim up '))!;
    expect(up.r.stdout.toString() + up.r.stderr).toMatch(/created a random webhook secret/);
    const status = results.find((x) => x.line.includes(' sim status '))!;
    expect(status.r.stdout.toString()).toMatch(/role logs --serve/);
    const call = results.find((x) => x.line.includes(' sim call '))!;
    expect(call.r.stdout.toString()).toMatch(/^build-fedora\/log_\S+\n$/);
  });

  it('then: a log with a qbuild-sign line yields a ticket the keys qube holds', async () => {
    const r = await qbuild(['sim', 'call', '--formula', formula, '--from', 'build-fedora', 'dom0', 'qubesbuilder.BuildLog'],
      `building\nqbuild-sign sha256:${HASH} foo.rpm\nqbuild-log-end\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const path = r.stdout.toString().trim();
    // The ticket as the keys qube stored it once LogReceived checked its signature…
    const received = join(q('keys-fedora').state, 'tickets', 'build-fedora', 'received');
    await waitFor('the ticket at keys-fedora', () =>
      existsSync(received) && readdirSync(received).some((n) => readFileSync(join(received, n), 'utf8').includes(path)));
    // …and the keys qube's own view: a grant for exactly those bytes, naming that log.
    const grants = await qbuild(['sim', 'exec', '--formula', formula, 'keys-fedora', '--', 'qbuild', 'role', 'keys', 'tickets']);
    expect(grants.code, grants.stderr).toBe(0);
    expect(grants.stdout.toString()).toMatch(new RegExp(`^build-fedora sha256:${HASH} foo\\.rpm expires=\\S+ log=${path.replace(/[.]/g, '\\.')}$`, 'm'));
  }, 60_000);

  it('then: a webhook signed with the secret sim up created is queued and delivered to both build qubes', async () => {
    const secret = readFileSync(join(q('sys-net').dir, 'root', 'rw', 'config', 'qbuild', 'webhook-secret'), 'utf8').trim();
    const bound = readFileSync(join(q('sys-net').state, 'sysnet', 'listening'), 'utf8').trim();
    expect(bound).toMatch(/^127\.0\.0\.1:\d+$/);
    const p = githubExample('push');
    (p.repository as Record<string, unknown>).full_name = 'QubesOS/qubes-webhook-test'; // no build daemon fetches it
    const body = JSON.stringify(p);
    const reply = await deliver(Number(bound.split(':')[1]), '/github-hooks/trigger-build', 'push', body, randomUUID(), signBody(secret, body));
    expect(reply.status).toBe(202); // queued durably before the answer
    for (const vm of ['build-fedora', 'build-debian']) {
      await waitFor(`${vm} inbox`, () => triggers(vm).length === 1);
      expect(triggers(vm)[0]).toMatchObject({ from: 'sys-net' });
    }
  }, 60_000);

  it('then: no daemon in the simulator restarted', async () => {
    const st = await qbuild(['sim', 'status', '--formula', formula]);
    expect(st.code, st.stderr).toBe(0);
    const daemons = st.stdout.toString().split('\n').filter((l) => /^  \S+ +role /.test(l));
    expect(daemons.length).toBeGreaterThanOrEqual(4);
    for (const l of daemons) expect(l).toMatch(/ running pid \d+, restarts 0/);
    expect(readFileSync(simPaths(formula).routerLog, 'utf8')).not.toMatch(/ exited \(/);
  });

  it("and README's last line stops the simulator", async () => {
    const r = await shell(substitute(last, bin, formula)!);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(simPaths(formula).routerPid)).toBe(false);
    const st = await qbuild(['sim', 'status', '--formula', formula]);
    expect(st.stdout.toString()).toMatch(/^simulator not running: /);
    expect(st.stdout.toString()).not.toMatch(/ running pid /);
  });
});

describe("README's set-up commands are what the project runs", () => {
  const setUp = (label: string): string => {
    const i = README.indexOf(label);
    expect(i, `README names "${label}"`).toBeGreaterThanOrEqual(0);
    const block = /\n\n {4}(\S[^\n]*)\n/.exec(README.slice(i))!;
    return block[1]!;
  };
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim());

  it('the test command is the one .ci/run runs, and npm test builds the binary first and runs vitest', () => {
    const cmd = setUp('**All tests**');
    expect(cmd).toBe('npm ci && npm test');
    expect(ci.filter((l) => !l.startsWith('#'))).toContain(cmd);
    expect(pkg.scripts.test).toBe('node build.mjs && vitest run');
  });

  it('the main job is npm run demo, which builds the binary and runs qbuild demo', () => {
    const cmd = setUp('**Main job**');
    expect(cmd).toBe('npm ci && npm run demo');
    expect(pkg.scripts.demo).toBe('node build.mjs && ./dist/qbuild demo');
    expect(pkg.scripts.build).toBe('node build.mjs');
  });
});
