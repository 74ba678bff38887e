import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qbuildBin } from '../helpers/binary.js';
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
});
