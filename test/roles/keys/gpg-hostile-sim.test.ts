import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editVmConfig, type SimHandle } from '../../helpers/sim.js';
import { startKeysSim } from './keys-qube.js';
import { run } from '../../helpers/run.js';
import { fixture } from '../../helpers/gpg.js';
import { FrameDecoder, encodeCommand } from '../../../src/protocol/splitgpg/wire.js';

/**
 * Findings D and K where they were reproduced: through the simulator (policy, router,
 * data-channel sockets) and the built binary.
 */
describe('qubes.Gpg against hostile callers, through the simulator', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startKeysSim({
      daemons: false,
      configure: (dir) => editVmConfig(dir, 'keys-fedora', (c) => { c.keys.idleSeconds = 4; c.keys.maxConcurrentGpg = 2; }),
    });
    const r = await sim.run('keys-fedora', ['role', 'keys', 'import', '-'], { stdin: fixture('gpg-ed25519.sec.asc') });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => { await sim?.down(); });

  const sign = (args: string[]) => sim.run('build-fedora', ['sign', ...args], { env: { QUBES_GPG_DOMAIN: 'keys-fedora' } });

  /** A raw qubes.Gpg call that sends `bytes` and then stalls, never closing its stream. */
  function stalled(bytes: Buffer) {
    const child = sim.spawnCall('build-fedora', 'keys-fedora', 'qubes.Gpg');
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stdin.on('error', () => {});
    child.stdin.write(bytes);
    const t0 = Date.now();
    const done = new Promise<{ ms: number; exit: number | undefined; text: string }>((resolve) => child.on('close', () => {
      const frames = new FrameDecoder(4).push(Buffer.concat(out));
      const exit = frames.find((f) => f.kind === 'exit');
      resolve({
        ms: Date.now() - t0,
        exit: exit?.kind === 'exit' ? exit.code : undefined,
        text: frames.map((f) => (f.kind === 'data' ? f.data.toString() : '')).join(''),
      });
    }));
    return { child, done };
  }

  it('D: --verify of the reported packet (88 08 03 05 00…) gets gpg\'s ERRSIG status and exit 2, not an internal error', async () => {
    const home = join(sim.qubeDir('build-fedora'), 'home');
    writeFileSync(join(home, 'bad.sig'), Buffer.from('88080305000000000000', 'hex'));
    writeFileSync(join(home, 'data'), 'Origin: qbuild\n');
    const r = await sign(['--status-fd=2', '--verify', join(home, 'bad.sig'), join(home, 'data')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^\[GNUPG:\] ERRSIG 0{16} 0 0 00 0 4$/m);
    expect(r.stderr).toMatch(/gpg: Can't check signature: signature packet version 3/);
    expect(r.stderr).not.toMatch(/internal error/);
  });

  it('K: a caller stalling before or inside the header gets an exit frame after the idle timeout, and its process ends', async () => {
    for (const bytes of [Buffer.alloc(0), encodeCommand(['-bsa']).subarray(0, 300)]) {
      const { done } = stalled(bytes);
      const r = await done;
      expect(r.exit).toBe(1);
      expect(r.text).toMatch(/qbuild: keys: timed out: the request header did not arrive in full within 4 s/);
      expect(r.ms).toBeLessThan(15_000);
    }
  }, 40_000);

  it('K: at most keys.maxConcurrentGpg requests at once; the next is refused with a clear message until a place is free', async () => {
    const a = stalled(encodeCommand(['-bsa']).subarray(0, 10));
    const b = stalled(encodeCommand(['-bsa']).subarray(0, 10));
    // Both hold their place once their process runs (4 s, the idle timeout: long enough for a
    // probe to land on a loaded machine); give the router a moment to start them.
    let refused = await sign(['--list-keys']);
    for (let i = 0; i < 40 && refused.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 25));
      refused = await sign(['--list-keys']);
    }
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/qbuild: keys: busy: 2 qubes\.Gpg requests already in progress \(keys\.maxConcurrentGpg is 2\); try again later/);
    await Promise.all([a.done, b.done]); // both time out after 4 s
    const ok = await sign(['--list-keys']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.toString()).toContain('ed25519@test.invalid');
    const log = (await run('cat', [join(sim.stateDir('keys-fedora'), 'keys.log')])).stdout.toString();
    expect(log).toMatch(/refused busy: 2 qubes\.Gpg requests/);
  }, 40_000);
});
