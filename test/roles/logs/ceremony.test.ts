import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVerifierKey } from '../../../src/protocol/note/note.js';
import { pillarLines } from '../../../src/roles/logs/ceremony.js';
import { qbuildBin, repoRoot } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';
import { editVmConfig, startSim, type SimHandle } from '../../helpers/sim.js';
import { waitFor } from '../../helpers/wait.js';

const examplePillar = readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8');
const LINES_RE = /^ {2}logs-public-keys:\n {4}logs: "(qbuild-logs\/logs\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*)"\n$/;
const H1 = '3c'.repeat(32);

let tmp: string;
let sim: SimHandle | undefined;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'qbuild-ceremony-')); });
afterAll(async () => {
  await sim?.down();
  rmSync(tmp, { recursive: true, force: true });
});

const provision = (pillar: string, out: string) => {
  const file = join(tmp, `${out}.yml`);
  writeFileSync(file, pillar);
  return run(qbuildBin(), ['provision', '--pillar', file, '--out', join(tmp, out)]);
};

describe('pillarLines', () => {
  it('indents as docs/pillar.md shows and quotes what YAML would not read as a string', () => {
    expect(pillarLines('logs', 'qbuild-logs/logs+01234567+AQID')).toBe('  logs-public-keys:\n    logs: "qbuild-logs/logs+01234567+AQID"\n');
    expect(pillarLines('no', 'k')).toBe('  logs-public-keys:\n    "no": "k"\n');
  });
});

describe('key ceremony: from an empty logs qube to a ticket the keys qube accepts', () => {
  it('warns, prints the pillar lines, and the pasted pillar yields tickets in keys-fedora', async () => {
    // 1. Provision without the key: a warning on stderr naming the command, and exit 0.
    const first = await provision(examplePillar, 'first');
    expect(first.code, first.stderr.toString()).toBe(0);
    const warning = first.stderr.toString();
    expect(warning).toMatch(/^qbuild: warning: .*first\.yml: build-infra:logs-public-keys:logs: missing: keys-fedora, keys-debian cannot verify tickets.*`qbuild role logs init --pillar-lines`.*\n$/);

    // 2. In the (empty) logs qube, laid out as the simulator does: config + state directory.
    const qube = join(tmp, 'logs-qube');
    mkdirSync(join(qube, 'home'), { recursive: true });
    cpSync(join(tmp, 'first', 'files', 'logs', 'qbuild.json'), join(qube, 'qbuild.json'));
    const env = { PATH: process.env.PATH, HOME: join(qube, 'home'), QBUILD_CONFIG: join(qube, 'qbuild.json'), QBUILD_STATE: join(qube, 'state') };
    const ceremony = () => run(qbuildBin(), ['role', 'logs', 'init', '--pillar-lines'], { env, cwd: join(qube, 'home') });
    const r = await ceremony();
    expect(r.code, r.stderr.toString()).toBe(0);
    const lines = r.stdout.toString();
    const key = LINES_RE.exec(lines)?.[1];
    expect(key, lines).toBeDefined();
    expect(parseVerifierKey(key!).name).toBe('qbuild-logs/logs');
    expect(r.stderr.toString()).toContain('generated ticket signing key');
    expect(statSync(join(qube, 'state', 'note.key')).mode & 0o777).toBe(0o600);
    // Again: the same keys, the same lines, nothing generated.
    const again = await ceremony();
    expect([again.code, again.stdout.toString(), again.stderr.toString()]).toEqual([0, lines, '']);

    // 3. Paste under build-infra: (the example's last top-level key): provision is quiet now.
    const pillar = `${examplePillar.trimEnd()}\n${lines}`;
    const second = await provision(pillar, 'second');
    expect([second.code, second.stderr.toString()]).toEqual([0, '']);
    const keysConfig = JSON.parse(readFileSync(join(tmp, 'second', 'files', 'keys-fedora', 'qbuild.json'), 'utf8'));
    expect(keysConfig.keys.logsPublicKey).toBe(key);

    // 4. sim up with that pillar; the logs qube's private volume is the one the ceremony filled.
    sim = await startSim({
      pillar,
      configure: (formula) => {
        cpSync(join(qube, 'state'), join(formula, 'qubes', 'logs', 'state'), { recursive: true });
        editVmConfig(formula, 'logs', (c) => { c.logs.listen = '127.0.0.1:0'; });
      },
    });
    const log = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', {
      stdin: `building\nqbuild-sign sha256:${H1} ceremony-1.0-1.fc41.x86_64.rpm\nqbuild-log-end\n`,
    });
    expect([log.code, log.stderr.toString()]).toEqual([0, '']);
    const path = log.stdout.toString().trim();
    const tickets = await waitFor('the ticket in keys-fedora', async () => {
      const t = await sim!.run('keys-fedora', ['role', 'keys', 'tickets']);
      return t.stdout.toString().includes(H1) ? t.stdout.toString() : undefined;
    }, 30_000);
    expect(tickets).toMatch(new RegExp(`^build-fedora sha256:${H1} ceremony-1\\.0-1\\.fc41\\.x86_64\\.rpm expires=\\S+ log=${path.replace(/[/.]/g, '\\$&')}\\n$`));
  }, 90_000);
});

describe('provision refuses a logs-public-keys entry that is not a verifier key', () => {
  it.each([
    ['not a key at all', '"ssh-ed25519 AAAA"'],
    ['a signer (secret) key', '"PRIVATE+KEY+qbuild-logs/logs+01234567+AQID"'],
  ])('%s: one line naming the key path, exit 2', async (_what, value) => {
    const r = await provision(`${examplePillar.trimEnd()}\n  logs-public-keys:\n    logs: ${value}\n`, 'bad');
    expect(r.code).toBe(2);
    const err = r.stderr.toString();
    expect(err).toMatch(/^qbuild: .*bad\.yml: build-infra:logs-public-keys:logs: not a ticket verifier key \(.*\); print it in the logs qube with: qbuild role logs init --pillar-lines\n$/);
  });
});
