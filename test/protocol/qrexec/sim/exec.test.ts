import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qbuildBin, repoRoot } from '../../../helpers/binary.js';
import { run } from '../../../helpers/run.js';
import { tempDirs } from '../../../helpers/tmp.js';

// `qbuild sim exec` runs a command inside a simulated qube; outside any qube, commands that
// need a qube's config or state refuse instead of writing to a host path.
const tmp = tempDirs('qbexec-');
const secretKey = join(repoRoot, 'test', 'fixtures', 'keys', 'gpg-ed25519.sec.asc');
/** Where a qube keeps its state (IN_QUBE.state): must never appear on a dev box. */
const HOST_STATE = '/home/user/qbuild';
const REFUSAL = 'no qbuild config here: run this inside a provisioned qube, or on a dev box with `qbuild sim exec --formula F VM -- …`';

async function provisioned(): Promise<string> {
  const formula = join(tmp(), 'formula');
  const r = await run(qbuildBin(), ['provision', '--pillar', join(repoRoot, 'examples', 'pillar.yml'), '--out', formula]);
  expect(r.code, r.stderr).toBe(0);
  return formula;
}

/** An environment with no qbuild variables, as a dev box's shell has. */
function hostEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home };
}

describe('outside a qube', () => {
  const noQubeHere = existsSync('/usr/local/etc/qbuild/qbuild.json') || existsSync(HOST_STATE);
  it.skipIf(noQubeHere)('a key import refuses in one line (exit 2) and writes nothing', async () => {
    const home = tmp();
    const r = await run(qbuildBin(), ['role', 'keys', 'import', secretKey], { env: hostEnv(home), cwd: home });
    expect(r.stderr).toBe(`qbuild: keys: ${REFUSAL}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(existsSync(HOST_STATE)).toBe(false);
    expect(readdirSync(home)).toEqual([]);
  });

  it.skipIf(noQubeHere)('QBUILD_SIM alone is not a qube: logs, sysnet and build commands refuse too', async () => {
    const home = tmp();
    const env = { ...hostEnv(home), QBUILD_SIM: home, QBUILD_SIM_VM: 'keys-fedora' };
    // The issue's own command line: QBUILD_SIM and QBUILD_SIM_VM set by hand, no config.
    for (const [role, args] of [['keys', ['import', secretKey]], ['keys', ['list']], ['logs', ['status']], ['sysnet', ['--serve']], ['build', ['status']]] as const) {
      const r = await run(qbuildBin(), ['role', role, ...args], { env, cwd: home });
      expect(r.stderr, role).toBe(`qbuild: ${role}: ${REFUSAL}\n`);
      expect(r.code, role).toBe(2);
    }
    expect(existsSync(HOST_STATE)).toBe(false);
    expect(readdirSync(home)).toEqual([]);
  });

  it.skipIf(noQubeHere)('qbuild sign without QUBES_GPG_DOMAIN refuses in one line, exit 2, naming sim exec', async () => {
    const home = tmp();
    const r = await run(qbuildBin(), ['sign', '--detach-sign', secretKey], { env: hostEnv(home), cwd: home });
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toContain(REFUSAL);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(readdirSync(home)).toEqual([]);
  });
});

describe('qbuild sim exec', () => {
  it('imports a key into keys-fedora and lists it there; the state is the qube\'s', async () => {
    const formula = await provisioned();
    const exec = (args: string[]) => run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'keys-fedora', '--', ...args], { env: hostEnv(tmp()) });
    const imp = await exec(['qbuild', 'role', 'keys', 'import', secretKey]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const fpr = /^imported ([0-9A-F]{40}) /.exec(imp.stdout.toString())?.[1];
    expect(fpr).toBeDefined();
    expect(imp.stdout.toString()).toContain(join(formula, 'qubes', 'keys-fedora', 'state'));
    const list = await exec(['qbuild', 'role', 'keys', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.toString()).toMatch(new RegExp(`^${fpr} ed25519 `, 'm'));
    // Another qube's state does not have it.
    const other = await run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'keys-debian', '--', 'qbuild', 'role', 'keys', 'list'], { env: hostEnv(tmp()) });
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout.toString()).not.toContain(fpr!);
    expect(existsSync(HOST_STATE)).toBe(false);
  });

  it('gives CMD the qube\'s environment and home as cwd, and passes its exit code through', async () => {
    const formula = await provisioned();
    const q = join(formula, 'qubes', 'sys-net');
    const r = await run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'sys-net', '--',
      'sh', '-c', 'pwd; echo "$HOME|$QBUILD_SIM|$QBUILD_SIM_VM|$QBUILD_CONFIG|$QBUILD_STATE|${PATH%%:*}"; command -v qrexec-client-vm; exit 7'], { env: hostEnv(tmp()) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(7);
    expect(r.stdout.toString().split('\n')).toEqual([
      join(q, 'home'),
      [join(q, 'home'), formula, 'sys-net', join(q, 'qbuild.json'), join(q, 'state'), join(q, 'bin')].join('|'),
      join(q, 'bin', 'qrexec-client-vm'),
      '',
    ]);
    expect(JSON.parse(readFileSync(join(q, 'qbuild.json'), 'utf8')).vm).toBe('sys-net');
  });

  it('refuses an unknown qube in one line, exit 2; no command: usage, exit 2', async () => {
    const formula = await provisioned();
    const r = await run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'nope', '--', 'true']);
    expect(r.stderr).toBe(`qbuild: sim: no such qube nope in ${formula}\n`);
    expect(r.code).toBe(2);
    const none = await run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'keys-fedora']);
    expect(none.stderr).toBe('qbuild: sim: sim exec needs VM -- CMD [ARGS…] (the command after --)\n');
    expect(none.code).toBe(2);
    const missing = await run(qbuildBin(), ['sim', 'exec', '--formula', formula, 'keys-fedora', '--', 'no-such-command-here']);
    expect(missing.stderr).toBe('qbuild: sim: cannot run no-such-command-here in keys-fedora: not found\n');
    expect(missing.code).toBe(127);
  });
});
