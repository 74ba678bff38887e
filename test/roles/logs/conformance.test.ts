import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CUT_LONG, TIME_LENGTH } from '../../../src/protocol/buildlog/format.js';
import { handleBuildLog } from '../../../src/roles/logs/buildlog-service.js';

const FIXTURES = join(__dirname, '../../fixtures/buildlog');
const tmp = mkdtempSync(join(tmpdir(), 'qbuild-logs-conf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the BuildLog service in-process on `input`, as qrexec would for build-fedora. */
async function runService(input: Buffer, opts: { argument?: string; maxLineBytes?: number } = {}): Promise<{ path: string; stored: Buffer; dir: string }> {
  const dir = mkdtempSync(join(tmp, 'q-'));
  writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({ vm: 'logs', role: 'logs', logs: opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {} }));
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  const env = { QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: join(dir, 'state') };
  const code = await handleBuildLog(
    { remoteDomain: 'build-fedora', service: 'qubesbuilder.BuildLog', argument: opts.argument, requestedTarget: 'dom0' },
    { stdin: Readable.from(input.length ? [input] : []), stdout, stderr: new PassThrough(), env },
  );
  expect(code).toBe(0);
  const path = Buffer.concat(out).toString();
  expect(path).toMatch(/^build-fedora\/(\w+\/)?log_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d\n$/);
  return { path: path.trim(), stored: readFileSync(join(dir, 'state', 'store', path.trim())), dir };
}

/** Lines without the timestamp; qbuild's own `> incomplete:` notes dropped (upstream has none). */
function comparable(log: Buffer): string[] {
  return log.toString('latin1').split('\n').slice(0, -1)
    .map((l) => l.slice(TIME_LENGTH))
    .filter((l) => !l.startsWith(' +0000 > incomplete: '));
}

describe('BuildLog conformance with upstream (fixtures made by upstream\'s python service)', () => {
  const cases = readdirSync(FIXTURES).filter((f) => f.endsWith('.in')).map((f) => f.slice(0, -3));
  it('has the fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(10));
  for (const name of cases) {
    it(`stores ${name} exactly like upstream`, async () => {
      const input = readFileSync(join(FIXTURES, `${name}.in`));
      const expected = readFileSync(join(FIXTURES, `${name}.out`));
      const { stored } = await runService(input);
      expect(comparable(stored)).toEqual(comparable(expected));
      // Timestamps have upstream's shape.
      for (const l of stored.toString('latin1').split('\n').slice(0, -1)) expect(l).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \+0000 /);
      const incomplete = stored.toString('latin1').includes('> incomplete: ');
      expect(incomplete).toBe(name !== 'manifest');
    });
  }

  it('maps the sub-directory like upstream', async () => {
    const { path } = await runService(Buffer.from('x\n'), { argument: 'fc41.x86_64' });
    expect(path).toMatch(/^build-fedora\/fc41_x86_64\/log_/);
  });

  it('stores a 1 MiB line without newline as 64 KiB pieces, each but the last marked cut, that concatenate to the sanitised line', async () => {
    const line = Buffer.alloc(1 << 20);
    for (let i = 0; i < line.length; i++) line[i] = (i * 7919) & 0xff;
    for (let i = 0; i < line.length; i++) if (line[i] === 10) line[i] = 11;
    const { stored } = await runService(line);
    const prefix = ' +0000 build-fedora: ';
    const lines = stored.toString('latin1').split('\n').slice(1, -3).map((l) => l.slice(TIME_LENGTH));
    const pieces = lines.filter((_, i) => i % 2 === 0);
    expect(lines.filter((_, i) => i % 2 === 1)).toEqual(Array(15).fill(` +0000 > ${CUT_LONG}`));
    expect(pieces).toHaveLength(16);
    for (const p of pieces) {
      expect(p.startsWith(prefix)).toBe(true);
      expect(p.length - prefix.length).toBe(64 * 1024);
    }
    const sanitised = Buffer.from(line.map((b) => (b >= 0x20 && b <= 0x7e ? b : 0x2e))).toString('latin1');
    expect(pieces.map((p) => p.slice(prefix.length)).join('')).toBe(sanitised);
  });
});
