import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { qbuildBin } from '../helpers/binary.js';
import { run } from '../helpers/run.js';

// Help works anywhere: a clean environment with no qube config (the first thing a new user runs).
const env = { PATH: process.env.PATH };
const qbuild = (args: string[]) => run(qbuildBin(), args, { env, cwd: tmpdir() });

const SUBCOMMANDS: Record<string, string[]> = {
  logs: ['--serve | serve', 'init', 'import-key', 'status', 'verifier-key', 'git-key', 'help'],
  keys: ['import', 'list', 'export-public', 'tickets', 'status', '--serve | serve', 'help'],
  sysnet: ['--serve', 'help'],
  build: ['--serve | serve', 'status', 'ssh-key', 'help'],
};

describe('qbuild help', () => {
  for (const [role, subs] of Object.entries(SUBCOMMANDS)) {
    for (const form of ['--help', 'help']) {
      it(`role ${role} ${form} lists the role's subcommands, one line each`, async () => {
        const r = await qbuild(['role', role, form]);
        expect(r.code).toBe(0);
        expect(r.stderr).toBe('');
        const lines = r.stdout.toString().trimEnd().split('\n');
        expect(lines[0]).toBe(`usage: qbuild role ${role} ${role === 'keys' ? '<command>' : 'COMMAND'}`);
        // Each subcommand starts exactly one line, and that line says what it does.
        for (const sub of subs) {
          const own = lines.filter((l) => l.trimStart().startsWith(`${sub} `));
          expect(own, sub).toHaveLength(1);
          expect(own[0]!.slice(own[0]!.indexOf(sub) + sub.length).trim().length, sub).toBeGreaterThan(3);
        }
        expect(lines).toHaveLength(subs.length + 1);
      });
    }
  }

  it('rpc --help lists every service', async () => {
    const r = await qbuild(['rpc', '--help']);
    expect(r.code).toBe(0);
    const out = r.stdout.toString();
    for (const s of ['qubesbuilder.BuildLog', 'qubesbuilder.LogReceived', 'qubes.Gpg', 'qubesbuilder.TriggerBuild',
      'qubesbuilder.ProcessGithubCommand', 'local.ConnectSSH', 'qbuild.Noop']) expect(out).toMatch(new RegExp(`^  ${s.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('an unknown command is one line without a doubled "qbuild: qbuild:"', async () => {
    const r = await qbuild(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('qbuild: Unknown command: frobnicate\n');
  });

  it('role without a name, or with an unknown one, lists the roles in one line', async () => {
    for (const [args, stderr] of [
      [['role'], 'qbuild: role: name a role: logs, keys, sysnet, build (see qbuild role NAME help)\n'],
      [['role', 'keyz', 'help'], 'qbuild: role: no role "keyz": logs, keys, sysnet, build (see qbuild role NAME help)\n'],
    ] as [string[], string][]) {
      const r = await qbuild(args);
      expect(r.stderr, args.join(' ')).toBe(stderr);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('names an unknown flag, at top level and in each role', async () => {
    const cases: [string[], string][] = [
      [['provision', '--pillar', 'p.yml', '--bogus'], 'qbuild: dom0: unknown option --bogus (see --help)\n'],
      [['verify', '--x', '-y', '--zz=1'], 'qbuild: verify: unknown options --x, -y, --zz (see --help)\n'],
      [['role', 'logs', '--bogus'], 'qbuild: logs: unknown option "--bogus" (see qbuild role logs help)\n'],
      [['role', 'logs', '--serve', '--bogus'], 'qbuild: logs: --serve takes no arguments, got "--bogus" (see qbuild role logs help)\n'],
      [['role', 'keys', '--bogus'], 'qbuild: keys: unknown option "--bogus" (see qbuild role keys help)\n'],
      [['role', 'sysnet', '--serve', '--bogus'], 'qbuild: sysnet: unknown option "--bogus" (see qbuild role sysnet help)\n'],
      [['role', 'build', '--bogus'], 'qbuild: build: unknown option "--bogus" (see qbuild role build help)\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await qbuild(args);
      expect(r.stderr, args.join(' ')).toBe(stderr);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });
});
