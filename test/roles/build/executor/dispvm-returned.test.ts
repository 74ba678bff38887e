import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DispVmExecutor } from '../../../../src/roles/build/executor/dispvm.js';
import { encodeEnd, encodeRunFrame, parseHeader, RunFrame } from '../../../../src/protocol/build/run-recipe.js';
import type { Call, CallRequest, Transport } from '../../../../src/protocol/qrexec/transport.js';

// What a hostile disposable can send back, answered in-process: the build qube's unpack of the
// returned work dir is the security boundary, so each bad tar is refused with one line and
// nothing is written outside (or inside) the work dir.

/** One ustar header (+ data) as a hostile tar writer would make it. */
function entry(name: string, type: string, opts: { link?: string; data?: string; prefix?: string; gnu?: boolean } = {}): Buffer {
  const data = Buffer.from(opts.data ?? '');
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  if (opts.link) h.write(opts.link, 157, 100, 'utf8');
  h.write(opts.gnu ? 'ustar  \x00' : 'ustar\x0000', 257, 'latin1');
  if (opts.prefix) h.write(opts.prefix, 345, 155, 'utf8');
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}
const tar = (...entries: Buffer[]) => Buffer.concat([...entries, Buffer.alloc(1024)]);

/** A transport whose disposable answers every call with `answer` (after reading all of stdin). */
class HostileTransport implements Transport {
  requests: CallRequest[] = [];
  header: string | undefined;
  constructor(private readonly answer: Buffer, private readonly code = 0) {}
  call(req: CallRequest): Call {
    this.requests.push(req);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks: Buffer[] = [];
    stdin.on('data', (b: Buffer) => chunks.push(b));
    const exit = new Promise<number>((resolve) => stdin.on('end', () => {
      const all = Buffer.concat(chunks);
      this.header = all.subarray(0, all.indexOf(0x0a)).toString();
      stdout.end(this.answer);
      stderr.end();
      resolve(this.code);
    }));
    return { stdin, stdout, stderr, exit };
  }
}

const answer = (t: Buffer) => Buffer.concat([encodeRunFrame(RunFrame.Output, Buffer.from('built\n')), encodeEnd({ kind: 'exited', code: 0 }), t]);

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'qb-returned-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function runWith(t: Transport) {
  const cwd = join(dir, 'work', 'job');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, 'kept'), 'as sent\n');
  const out: Buffer[] = [];
  const r = await new DispVmExecutor(t, 'dvm-build-fedora').run({
    argv: ['true'], cwd, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, outputCapBytes: 1 << 20, onOutput: (c) => { out.push(c); },
  }).then((x) => x, (e: Error) => e);
  return { r, cwd, out: Buffer.concat(out).toString() };
}

describe('DispVmExecutor: what a disposable sends back', () => {
  it('takes a good work dir: files, directories, inner links; asks @dispvm:DVM for RunRecipe with a strict header', async () => {
    const t = new HostileTransport(answer(tar(
      entry('./', '5'), entry('./out/', '5'), entry('./out/a.rpm', '0', { data: 'rpm bytes' }),
      entry('./out/link', '2', { link: 'a.rpm' }), entry('./out/hard', '1', { link: './out/a.rpm' }),
    )));
    const { r, cwd, out } = await runWith(t);
    expect(r).toEqual({ kind: 'exited', code: 0, outputBytes: 6 });
    expect(out).toBe('built\n');
    expect(t.requests).toEqual([{ target: '@dispvm:dvm-build-fedora', service: 'qubesbuilder.RunRecipe' }]);
    expect(parseHeader(t.header!)).toMatchObject({ argv: ['true'], cwd, inputDirs: [] });
    expect(readdirSync(cwd).sort()).toEqual(['out']);
    expect(readFileSync(join(cwd, 'out', 'link'), 'utf8')).toBe('rpm bytes');
    expect(readFileSync(join(cwd, 'out', 'hard'), 'utf8')).toBe('rpm bytes');
  });

  for (const [what, t, why] of [
    ['../x', tar(entry('../x', '0', { data: 'x' })), /refused what the disposable returned: "\.\.\/x" contains \.\./],
    ['an absolute path', tar(entry('/tmp/qbuild-hostile-abs', '0', { data: 'x' })), /"\/tmp\/qbuild-hostile-abs" is an absolute path/],
    ['.. in the ustar prefix', tar(entry('x', '0', { prefix: 'a/../..', data: 'x' })), /contains \.\./],
    // GNU's format keeps times where ustar has the prefix: GNU tar reads the name alone, and so must the check.
    ['an absolute path behind GNU times', tar(entry('/tmp/qbuild-hostile-abs', '0', { gnu: true, prefix: '14733673671', data: 'x' })), /"\/tmp\/qbuild-hostile-abs" is an absolute path/],
    ['a symlink to /', tar(entry('./root', '2', { link: '/' }), entry('./root/etc/x', '0', { data: 'x' })), /"root" -> "\/": a symlink to an absolute path/],
    ['a symlink up', tar(entry('./out/', '5'), entry('./out/up', '2', { link: '../..' })), /"out\/up" -> "\.\.\/\.\.": a symlink pointing outside/],
    ['a character device', tar(entry('./null', '3')), /"null" is a character device/],
    ['a block device', tar(entry('./sda', '4')), /"sda" is a block device/],
    ['a hard link out', tar(entry('./h', '1', { link: '../../etc/passwd' })), /contains \.\./],
    ['a pax record', tar(entry('./PaxHeaders/x', 'x', { data: '30 path=../../../../etc/passwd\n' })), /is a pax record/],
    ['a bad checksum', (() => { const b = tar(entry('./x', '0', { data: 'x' })); b[0] = 0x79; return b; })(), /bad checksum/],
    ['a truncated archive', entry('./x', '0', { data: 'x' }), /no end-of-archive block|truncated/],
  ] as const) {
    it(`refuses ${what} with one line; the work dir stays as sent and nothing is written elsewhere`, async () => {
      const { r, cwd } = await runWith(new HostileTransport(answer(t)));
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toMatch(why);
      expect((r as Error).message).not.toContain('\n');
      expect(readdirSync(cwd)).toEqual(['kept']);
      expect(readdirSync(join(cwd, '..'))).toEqual(['job']);
      expect(readdirSync(dir)).toEqual(['work']);
      expect(existsSync('/tmp/qbuild-hostile-abs')).toBe(false);
    });
  }

  it('fails with one line when the call ends without a result (refused by policy)', async () => {
    const { r } = await runWith(new HostileTransport(Buffer.alloc(0), 126));
    expect((r as Error).message).toMatch(/the disposable run \(qubesbuilder\.RunRecipe to @dispvm:dvm-build-fedora\) failed: qrexec exit 126, no result/);
  });

  it('refuses a malformed stream: an unknown frame type', async () => {
    const { r } = await runWith(new HostileTransport(Buffer.from([0x5a, 0, 0, 0, 0])));
    expect((r as Error).message).toMatch(/the disposable's answer: unknown frame type 90/);
  });
});
