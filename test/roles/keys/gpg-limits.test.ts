import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS_SERVICE, KeysQube, type OpenCall } from './keys-qube.js';
import { qbuildBin } from '../../helpers/binary.js';
import { waitFor } from '../../helpers/wait.js';
import { run } from '../../helpers/run.js';
import { encodeClose, encodeCommand, encodeData, encodeFrame } from '../../../src/protocol/splitgpg/wire.js';

const text = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString();
const HEADER = encodeCommand(['-bsa', '-u', 'ed25519@test.invalid']);

/** Finding K: qubes.Gpg has an idle timeout (header, then each frame) and a bound on concurrent requests. */
describe('qubes.Gpg idle timeout (keys.idleSeconds)', () => {
  const q = new KeysQube('ticket', null, { idleSeconds: 1 });
  beforeAll(async () => { expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0); });
  afterAll(() => q.cleanup());

  const stalls: [string, Buffer, RegExp][] = [
    ['nothing at all', Buffer.alloc(0), /timed out: the request header did not arrive in full within 1 s/],
    ['half a header', HEADER.subarray(0, 500), /timed out: the request header did not arrive in full within 1 s/],
    ['half a frame', Buffer.concat([HEADER, encodeFrame(0, Buffer.alloc(100, 0x61)).subarray(0, 50)]), /timed out: the next frame did not arrive in full within 1 s/],
    ['a frame, then nothing', Buffer.concat([HEADER, encodeFrame(0, Buffer.from('data'))]), /timed out: the next frame did not arrive in full within 1 s/],
    ['only the signature stream of a --verify closed', Buffer.concat([encodeCommand(['--verify', '/dev/fd/3', '-']), encodeClose(1)]), /timed out: the next frame/],
  ];
  for (const [what, input, message] of stalls) {
    it(`a caller that sends ${what} and stalls gets an exit frame and a one-line reason after ~1 s`, async () => {
      const r = await q.gpgRaw(input, 15_000);
      expect(r.killed).toBe(false);
      expect(r.exit).toBe(1);
      expect(text(r.streams[1])).toMatch(message);
      expect(text(r.streams[1]).trimEnd().split('\n')).toHaveLength(1);
      expect(r.ms).toBeGreaterThanOrEqual(900);
      expect(r.ms).toBeLessThan(10_000);
      expect(q.log()).toMatch(/qubes\.Gpg from=build-fedora refused timed out/);
    }, 20_000);
  }

  it('a slow caller whose every frame comes within the timeout is served (the clock restarts per frame)', async () => {
    const call = await q.open('qubes.Gpg', 'build-fedora');
    const out: Buffer[] = [];
    call.onData((c: Buffer) => out.push(c));
    call.write(HEADER);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 600));
      for (const f of encodeData(0, Buffer.from(`line ${i}\n`))) call.write(f);
    }
    call.write(encodeClose(0));
    await call.done;
    const all = Buffer.concat(out).toString('latin1');
    // No ticket for these bytes: refused by the gate, after all 2.4 s of input, not timed out.
    expect(all).toMatch(/refused to sign: no ticket for sha256:/);
    expect(all).not.toMatch(/timed out/);
  }, 20_000);

  it('refuses a bad keys.idleSeconds with a one-line config error', async () => {
    const bad = new KeysQube('ticket', null, { idleSeconds: 'soon' });
    try {
      const r = await run(qbuildBin(), ['rpc', 'qubes.Gpg'], { env: bad.env({ QREXEC_REMOTE_DOMAIN: 'build-fedora' }), stdin: HEADER });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^qbuild: rpc qubes.Gpg: [^\n]*qbuild.json: keys.idleSeconds: must be a number of seconds above 0, at most 3600\n$/);
    } finally {
      bad.cleanup();
    }
  });
});

describe('qubes.Gpg concurrency bound (keys.maxConcurrentGpg)', () => {
  const q = new KeysQube('ticket', null, { idleSeconds: 20, maxConcurrentGpg: 2 });
  const stalled: OpenCall[] = [];
  beforeAll(async () => { expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0); });
  afterAll(() => { for (const c of stalled) c.kill(); q.cleanup(); });

  const active = () => { try { return readdirSync(join(q.state, 'gpg-active')).length; } catch { return 0; } };
  const stall = async () => {
    const c = await q.open('qubes.Gpg', 'build-fedora');
    c.write(HEADER.subarray(0, 10));
    stalled.push(c);
    return c;
  };

  it('refuses a request over the bound with a clear message; a killed holder frees its place', async () => {
    const first = await stall();
    await stall();
    await waitFor('two stalled requests registered', () => active() === 2);
    const over = await q.gpgRaw(encodeCommand(['--list-keys']), 10_000);
    expect(over.exit).toBe(1);
    expect(text(over.streams[1])).toMatch(/^qbuild: keys: busy: 2 qubes\.Gpg requests already in progress \(keys\.maxConcurrentGpg is 2\); try again later\n$/);
    expect(q.log()).toMatch(/refused busy: 2 qubes\.Gpg requests/);
    // A killed caller: a per-call process killed with SIGKILL leaves its entry behind and the next
    // request sees the process is gone; the daemon's call sees its connection end and leaves.
    first.kill();
    await first.done;
    if (KEYS_SERVICE === 'socket') await waitFor('the killed caller\'s place freed', () => active() === 1);
    const after = await q.gpgRaw(encodeCommand(['--list-keys']), 10_000);
    expect(after.exit, text(after.streams[1])).toBe(0);
    expect(text(after.streams[0])).toContain('ed25519@test.invalid');
    // Entries come and go with their requests: only the one still stalled is left.
    expect(active()).toBe(1);
  }, 30_000);
});
