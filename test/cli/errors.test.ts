import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { run } from '../helpers/run.js';

// Each error a new user meets on the first day: one line on stderr, the documented exit code.
let tmp: string;
const qbuild = (args: string[], env: NodeJS.ProcessEnv = { PATH: process.env.PATH }) => run(qbuildBin(), args, { env, cwd: tmp });

beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'qbuild-cli-errors-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('qbuild errors', () => {
  it('--pillar or --out without a value is a usage error, never the current directory or an empty name', async () => {
    const usage = 'usage: qbuild provision --pillar FILE [--out DIR] [--apply | --dry-run]';
    writeFileSync(join(tmp, 'p.yml'), 'build-infra: {}\n');
    for (const [args, opt] of [
      [['provision', '--pillar'], 'pillar'], [['provision', '--pillar', '--dry-run'], 'pillar'], [['provision', '--pillar='], 'pillar'],
      [['provision', '--pillar', 'p.yml', '--out'], 'out'], [['provision', '--pillar', 'p.yml', '--out', '--dry-run'], 'out'],
    ] as [string[], string][]) {
      const r = await qbuild(args);
      expect(r.stderr, args.join(' ')).toBe(`qbuild: dom0: --${opt} needs a value; ${usage}\n`);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(readdirSync(tmp)).toEqual(['p.yml']);
  });

  it('sim --formula without a value is a usage error, never the current directory', async () => {
    for (const args of [['sim', 'up', '--formula'], ['sim', 'status', '--formula='], ['sim', 'up', '--formula', '--no-daemons']]) {
      const r = await qbuild(args);
      expect(r.stderr, args.join(' ')).toBe('qbuild: sim: --formula needs a value; usage: qbuild sim ACTION --formula DIR (see qbuild sim --help)\n');
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(readdirSync(tmp)).toEqual(['p.yml']);
  });

  it('qbuild sign with no arguments exits 2 with one line', async () => {
    const r = await qbuild(['sign']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('qbuild: sign: no command given (see qbuild sign --help)\n');
  });

  it('role keys import of a missing file exits 2 and names the file', async () => {
    const state = join(tmp, 'keys-state');
    const r = await qbuild(['role', 'keys', 'import', 'missing.asc'], { PATH: process.env.PATH, QBUILD_STATE: state });
    expect(r.stderr).toBe('qbuild: keys: cannot read missing.asc: no such file or directory\n');
    expect(r.code).toBe(2);
  });

  it('role logs import-key F names F, not a temporary path, and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmp, 'logs-'));
    writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({ vm: 'logs', role: 'logs', logs: { buildVms: ['build-a'], keysVmFor: { 'build-a': 'keys-a' }, remote: null } }));
    const env = { PATH: process.env.PATH, HOME: dir, QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: join(dir, 'state') };
    writeFileSync(join(dir, 'not-a-key.asc'), 'hello\n');
    const bad = await qbuild(['role', 'logs', 'import-key', join(dir, 'not-a-key.asc')], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(new RegExp(`^qbuild: logs: ${join(dir, 'not-a-key.asc').replace(/[.]/g, '\\.')}: not an armored OpenPGP secret key: [^\\n]*\\n$`));
    const missing = await qbuild(['role', 'logs', 'import-key', 'missing.asc'], env);
    expect(missing.stderr).toBe('qbuild: logs: cannot read missing.asc: no such file or directory\n');
    expect(missing.code).toBe(2);
    const stdin = await run(qbuildBin(), ['role', 'logs', 'import-key', '-'], { env, stdin: 'junk' });
    expect(stdin.stderr).toMatch(/^qbuild: logs: stdin: not an armored OpenPGP secret key: [^\n]*\n$/);
    expect(readdirSync(dir).sort()).toEqual(['not-a-key.asc', 'qbuild.json']);
  });

  it('a multi-document YAML pillar gets our own one line, naming the line of the second document', async () => {
    const dir = mkdtempSync(join(tmp, 'multi-'));
    writeFileSync(join(dir, 'p.yml'), 'build-infra:\n  build-envs: {a: {logs: l}}\n---\nmore: 1\n');
    const r = await run(qbuildBin(), ['provision', '--pillar', 'p.yml', '--dry-run'], { env: { PATH: process.env.PATH }, cwd: dir });
    expect(r.stderr).toBe('qbuild: dom0: p.yml: line 3: a second YAML document starts here; a pillar is one document (remove the "---")\n');
    expect(r.code).toBe(2);
  });

  it('an unknown pillar key gets "did you mean" when a known key is at most 2 edits away, and not otherwise', async () => {
    const dir = mkdtempSync(join(tmp, 'typo-'));
    const example = readFileSync(join(repoRoot, 'examples', 'pillar.yml'), 'utf8');
    const cases: [string, string, string][] = [
      ['      volume-size: 20GiB', '      volum-siz: 20GiB', 'build-infra:build-envs:fedora:volum-siz: unknown key; did you mean "volume-size"?'],
      ['      sign-key: CD2EE445064D70E064CF01E59374892A378E57D5\n      repository', '      signkey: CD2EE445064D70E064CF01E59374892A378E57D5\n      repository', 'build-infra:build-envs:fedora:signkey: unknown key; did you mean "sign-key"?'],
      ['      volume-size: 20GiB', '      colour: red', 'build-infra:build-envs:fedora:colour: unknown key'],
    ];
    for (const [from, to, why] of cases) {
      expect(example).toContain(from);
      writeFileSync(join(dir, 'p.yml'), example.replace(from, to));
      const r = await run(qbuildBin(), ['provision', '--pillar', 'p.yml', '--dry-run'], { env: { PATH: process.env.PATH }, cwd: dir });
      expect(r.stderr, to).toBe(`qbuild: dom0: p.yml: ${why}\n`);
      expect(r.code, to).toBe(2);
    }
  });

  it('role sysnet --listen with a bad address blames the option, before any config is read', async () => {
    const env = { PATH: process.env.PATH, QBUILD_CONFIG: join(tmp, 'no-such-config.json'), QBUILD_STATE: join(tmp, 'sysnet-state') };
    const r = await qbuild(['role', 'sysnet', '--serve', '--listen', '127.0.0.1:x'], env);
    expect(r.stderr).toBe('qbuild: sysnet: --listen: "127.0.0.1:x" is not IPv4:PORT, [IPv6]:PORT or localhost:PORT\n');
    expect(r.code).toBe(2);
    const none = await qbuild(['role', 'sysnet', '--serve', '--listen'], env);
    expect(none.stderr).toBe('qbuild: sysnet: --listen needs HOST:PORT (see qbuild role sysnet help)\n');
    expect(none.code).toBe(2);
  });

  it('a bad service argument is bad input (exit 2) on the command line and from qrexec\'s environment', async () => {
    const base = { PATH: process.env.PATH, QREXEC_REMOTE_DOMAIN: 'build-x' };
    const msg = 'qbuild: rpc qubesbuilder.BuildLog: invalid service argument "bad/arg": allowed characters are A-Z a-z 0-9 _ . -\n';
    const arg = await qbuild(['rpc', 'qubesbuilder.BuildLog', 'bad/arg'], base);
    expect(arg.stderr).toBe(msg);
    expect(arg.code).toBe(2);
    const env = await qbuild(['rpc', 'qubesbuilder.BuildLog'], { ...base, QREXEC_SERVICE_FULL_NAME: 'qubesbuilder.BuildLog+bad/arg' });
    expect(env.stderr).toBe(msg);
    expect(env.code).toBe(2);
  });
});
