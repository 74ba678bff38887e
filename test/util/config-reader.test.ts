/**
 * One way to read a role's config (src/util/config-reader.ts): each role's reader refuses an
 * unknown key (with a "did you mean"), a wrong type, a bad path, a bad port and a bad listen
 * address (those it has: the build section has no port or listener) with the same one-line shape, `<file>: <key>: <what>`; through the binary it is
 * `qbuild: <role>: <file>: <key>: <what>` (the CLI edge adds the role once) and exit 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandsSection } from '../../src/protocol/github/command/authorisation.js';
import { parseBuildConfig } from '../../src/roles/build/config.js';
import { makePlan } from '../../src/roles/dom0/make-plan.js';
import { loadPillar } from '../../src/roles/dom0/pillar.js';
import { parseKeysConfig } from '../../src/roles/keys/keys-config.js';
import { parseLogsSettings } from '../../src/roles/logs/settings.js';
import { parseSysnetConfig } from '../../src/roles/sysnet/config.js';
import { ConfigReader } from '../../src/util/config-reader.js';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { oneLineError } from '../helpers/one-line-error.js';
import { run } from '../helpers/run.js';

const FILE = '/q/qbuild.json';
const tmp = mkdtempSync(join(tmpdir(), 'qbuild-config-reader-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Section = Record<string, unknown>;
interface RoleCase {
  role: 'sysnet' | 'logs' | 'keys' | 'build';
  /** A config the reader accepts; each case adds one bad value to its section. */
  base: () => { vm: string; role: string; [section: string]: unknown };
  /** The reader, as the role's code calls it, on a config object. */
  parse: (config: Record<string, unknown>, file: string) => unknown;
  /** A role command that reads the config first: it runs in a temp qube dir. */
  argv: string[];
  cases: [what: string, edit: (s: Section) => void, message: string][];
}

/** build-fedora's config exactly as provision writes it for the example pillar. */
let BUILD_FEDORA: ReturnType<RoleCase['base']>;
beforeAll(async () => {
  const plan = makePlan(await loadPillar(readFileSync(join(repoRoot, 'examples/pillar.yml'), 'utf8'), 'pillar.yml'));
  BUILD_FEDORA = structuredClone(plan.vms.find((v) => v.name === 'build-fedora')!.config);
});

const ROLES: RoleCase[] = [
  {
    role: 'sysnet',
    base: () => ({ vm: 'sys-net', role: 'sysnet', sysnet: { buildVms: ['build-a'], listen: '127.0.0.1:0', secretFile: '/q/secret' } }),
    parse: (c, file) => parseSysnetConfig(c as never, { QBUILD_STATE: '/st' }, file),
    argv: ['role', 'sysnet', '--serve'],
    cases: [
      ['unknown key', (s) => { s.bildVms = []; }, 'sysnet.bildVms: unknown key; did you mean "buildVms"?'],
      ['unknown key, nothing close', (s) => { s.colour = 'red'; }, 'sysnet.colour: unknown key'],
      ['wrong type', (s) => { s.queueMax = '5'; }, 'sysnet.queueMax: must be a whole number, at least 1'],
      ['bad path', (s) => { s.secretFile = 'secret'; }, 'sysnet.secretFile: "secret" must be an absolute path'],
      ['path with ..', (s) => { s.secretFile = '/q/../etc/shadow'; }, "sysnet.secretFile: must not contain '.' or '..' parts"],
      ['bad port', (s) => { s.sshPort = 0; }, 'sysnet.sshPort: must be a port from 1 to 65535'],
      ['bad listen address', (s) => { s.listen = 'example.org:80'; }, 'sysnet.listen: "example.org" is not an IPv4 address or localhost'],
      ['listen port too big', (s) => { s.listen = '127.0.0.1:65536'; }, 'sysnet.listen: port 65536 is above 65535'],
      ['listen not a string', (s) => { s.listen = 8080; }, 'sysnet.listen: must be a string "HOST:PORT"'],
      ['bad duration', (s) => { s.retryBaseMs = 0.5; }, 'sysnet.retryBaseMs: must be a whole number of milliseconds, at least 1'],
      ['bad VM name', (s) => { s.buildVms = ['build a']; }, 'sysnet.buildVms[0]: invalid VM name "build a": must start with a letter and use A-Z a-z 0-9 _ . -'],
    ],
  },
  {
    role: 'logs',
    base: () => ({ vm: 'logs', role: 'logs', logs: { buildVms: ['build-a'], keysVmFor: { 'build-a': 'keys-a' }, remote: null } }),
    parse: (c, file) => parseLogsSettings(c.vm as string, '/st', c.logs, file),
    argv: ['role', 'logs', 'status'],
    cases: [
      ['unknown key', (s) => { s.maxlinebytes = 100; }, 'logs.maxlinebytes: unknown key; did you mean "maxLineBytes"?'],
      ['unknown nested key', (s) => { s.committer = { name: 'x', mail: 'y' }; }, 'logs.committer.mail: unknown key; did you mean "email"?'],
      ['wrong type', (s) => { s.maxLineBytes = 'big'; }, 'logs.maxLineBytes: must be a size in bytes from 80 to 16777216'],
      ['bad path', (s) => { s.store = 'store'; }, 'logs.store: "store" must be an absolute path'],
      ['bad token path', (s) => { s.remote = { url: 'https://example.org/l.git', tokenFile: 'token' }; }, 'logs.remote.tokenFile: "token" must be an absolute path'],
      ['bad port', (s) => { s.listen = '127.0.0.1:99999'; }, 'logs.listen: port 99999 is above 65535'],
      ['bad listen address', (s) => { s.listen = 'localhost'; }, 'logs.listen: "localhost" is not IPv4:PORT, [IPv6]:PORT or localhost:PORT'],
      ['bad duration', (s) => { s.ticketTtlSeconds = 59; }, 'logs.ticketTtlSeconds: must be a whole number of seconds from 60 to 315360000'],
      ['bad branch', (s) => { s.branch = 'a..b'; }, `logs.branch: "a..b": must not contain '..', '@{' or '//'`],
      ['bad keys VM', (s) => { s.keysVmFor = { 'build-a': 'keys a' }; }, 'logs.keysVmFor.build-a: invalid VM name "keys a": must start with a letter and use A-Z a-z 0-9 _ . -'],
    ],
  },
  {
    role: 'keys',
    base: () => ({ vm: 'keys-a', role: 'keys', env: 'a', keys: { buildVm: 'build-a', logsVm: 'logs', gate: 'ticket', logsPublicKey: null } }),
    parse: (c, file) => parseKeysConfig(c as never, file),
    argv: ['role', 'keys', 'status'],
    cases: [
      ['unknown key', (s) => { s.gates = 'ticket'; }, 'keys.gates: unknown key; did you mean "gate"?'],
      ['wrong type', (s) => { s.windowSeconds = '300'; }, 'keys.windowSeconds: must be a whole number of seconds, at least 1'],
      ['bad choice', (s) => { s.gate = 'open'; }, 'keys.gate: must be "ticket" or "window"'],
      ['bad VM name', (s) => { s.buildVm = '-x'; }, 'keys.buildVm: invalid VM name "-x": must start with a letter and use A-Z a-z 0-9 _ . -'],
      ['bad duration', (s) => { s.idleSeconds = 0; }, 'keys.idleSeconds: must be a number of seconds above 0, at most 3600'],
      ['bad count', (s) => { s.maxConcurrentGpg = 1001; }, 'keys.maxConcurrentGpg: must be a whole number from 1 to 1000'],
    ],
  },
  {
    role: 'build',
    base: () => structuredClone(BUILD_FEDORA),
    parse: (c, file) => parseBuildConfig(c as never, '/st', file),
    argv: ['role', 'build', 'status'],
    cases: [
      ['unknown key', (s) => { s.relase = 'r4.3'; }, 'build.relase: unknown key; did you mean "release"?'],
      ['unknown nested key', (s) => { (s.upload as Section).rmp = {}; }, 'build.upload.rmp: unknown key; did you mean "rpm"?'],
      ['wrong type', (s) => { s.dists = 'vm-fc42'; }, 'build.dists: must be a list'],
      ['bad path', (s) => { s.repository = '/srv/../etc'; }, "build.repository: must not contain '.' or '..' parts"],
      ['bad upload path', (s) => { ((s.upload as Section).rpm as Section).path = 'pub'; }, 'build.upload.rpm.path: must be an absolute path of A-Z a-z 0-9 _ . + / -'],
      ['bad duration', (s) => { ((s.components as Section[])[0]!).timeoutSeconds = 0; }, 'build.components.core-qrexec.timeoutSeconds: must be a whole number of seconds from 1 to 604800'],
      ['bad size', (s) => { ((s.components as Section[])[0]!).outputCapBytes = 10; }, 'build.components.core-qrexec.outputCapBytes: must be a size in bytes from 1048576 to 1099511627776'],
      ['bad VM name', (s) => { s.keysVm = 'keys fedora'; }, 'build.keysVm: invalid VM name "keys fedora": must start with a letter and use A-Z a-z 0-9 _ . -'],
    ],
  },
];

/** A qube dir holding `config` as its qbuild.json; the environment a role command runs with there. */
function qube(name: string, config: unknown): { file: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmp, `${name}-`));
  const file = join(dir, 'qbuild.json');
  writeFileSync(file, JSON.stringify(config));
  return { file, env: { PATH: process.env.PATH, HOME: dir, QBUILD_CONFIG: file, QBUILD_STATE: join(dir, 'state') } };
}

describe('the one config reader', () => {
  it('names the file and the key path, and nothing close gives no hint', () => {
    const r = new ConfigReader('/x/qbuild.json');
    expect(oneLineError('config', () => r.object('s', { a: 1, zzzzzz: 2 }, ['a', 'b']))).toBe('/x/qbuild.json: s.zzzzzz: unknown key');
    expect(oneLineError('config', () => r.object('s', [], ['a']))).toBe('/x/qbuild.json: s: must be an object');
    expect(oneLineError('config', () => new ConfigReader().string('k', ''))).toBe('qbuild.json: k: must be a non-empty string');
    expect(r.absolutePath('p', '/home/my files/f')).toBe('/home/my files/f'); // a dev box's formula dir may have spaces
    expect(oneLineError('config', () => r.absolutePath('p', '/a\nb'))).toBe('/x/qbuild.json: p: must be at most 4096 characters without NUL or line breaks');
    expect(r.port('p', 65535)).toBe(65535);
    // The build qube's commands section (who may sign which GitHub command) reads the same way.
    expect(oneLineError('config', () => parseCommandsSection({ maintainers: {}, maintainer: {} }, FILE))).toBe(`${FILE}: commands.maintainer: unknown key; did you mean "maintainers"?`);
    expect(oneLineError('config', () => parseCommandsSection({ maintainers: { ['A'.repeat(40)]: { components: [], distributions: [], templates: [], iso: 'yes' } } }, FILE)))
      .toBe(`${FILE}: commands.maintainers.${'A'.repeat(40)}.iso: must be true or false`);
    // A wrong type inside a re-worded check is named once, not `k: <file>: k: …`.
    expect(oneLineError('config', () => r.checked('k', () => r.string('k', 5)))).toBe('/x/qbuild.json: k: must be a non-empty string');
    expect(oneLineError('config', () => r.under('build').under('upload').fail('rpm', 'x'))).toBe('/x/qbuild.json: build.upload.rpm: x');
    expect(oneLineError('config', () => r.under('build').object('upload', { rmp: {} }, ['rpm', 'deb']))).toBe('/x/qbuild.json: build.upload.rmp: unknown key; did you mean "rpm"?');
    expect(r.listen('l', '[::1]:0')).toEqual({ host: '::1', port: 0 });
  });

  for (const rc of ROLES) {
    describe(`${rc.role}`, () => {
      it('accepts its base config', () => {
        const c = rc.base();
        expect(() => rc.parse(c, FILE)).not.toThrow();
      });
      if (rc.role === 'keys') {
        it("knows the ledger policy's keys (read by ledger-policy.ts)", () => {
          const c = rc.base();
          Object.assign(c.keys as Section, { acceptV1Tickets: true, witnesses: [], witnessQuorum: 0 });
          expect(() => rc.parse(c, FILE)).not.toThrow();
        });
      }
      it.each(rc.cases)('%s: one line naming file and key', (_what, edit, message) => {
        const c = rc.base();
        edit(c[rc.role] as Section);
        expect(oneLineError('config', () => rc.parse(c, FILE))).toBe(`${FILE}: ${message}`);
      });
      it.each(rc.cases)(`%s: qbuild ${rc.argv.slice(1).join(' ')} prints "qbuild: ${rc.role}: <file>: …" and exits 2`, async (what, edit, message) => {
        const c = rc.base();
        edit(c[rc.role] as Section);
        const q = qube(`${rc.role}-${what.replace(/\W+/g, '-')}`, c);
        const r = await run(qbuildBin(), rc.argv, { env: q.env, timeout: 20_000 });
        expect(r.stderr).toBe(`qbuild: ${rc.role}: ${q.file}: ${message}\n`);
        expect(r.code).toBe(2);
      }, 30_000);
    });
  }
});
