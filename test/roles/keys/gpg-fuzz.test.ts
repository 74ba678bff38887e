import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS_SERVICE, KeysQube } from './keys-qube.js';
import { xorshift32 } from '../../helpers/random.js';
import { HEADER_SIZE, encodeClose, encodeCommand, encodeData } from '../../../src/protocol/splitgpg/wire.js';

/**
 * A bounded, seeded fuzz test of qubes.Gpg (findings D and K): hostile headers, frames and
 * `--verify` signature streams, each sent by a caller that never closes its stream. Every run
 * must end with an exit frame (or, before any frame can be written, a one-line error and a
 * non-zero exit) — never `internal error`, never a stack trace, never a process left waiting.
 */
const SEED = 0x9e3779b9;
const RUNS = 100;

describe('qubes.Gpg fuzz (seeded)', () => {
  // A short idle timeout: a run whose input stops half-way ends quickly, as every run must.
  const q = new KeysQube('ticket', null, { idleSeconds: 0.3 });
  const data = Buffer.from('Origin: qbuild\nSuite: stable\n');
  const sigs: Buffer[] = [];
  beforeAll(async () => {
    expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0);
    expect((await q.logReceived(q.ticket([data, { form: 'text', data }]))).code).toBe(0);
    for (const argv of [['-bs', '-u', 'ed25519@test.invalid'], ['-bsa', '-t', '-u', 'ed25519@test.invalid']]) {
      const r = await q.gpg(argv, data);
      expect(r.exit).toBe(0);
      sigs.push(r.streams[0]!);
    }
  });
  afterAll(() => q.cleanup());

  const rnd = xorshift32(SEED);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rnd(256)));
  const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const TOKENS = [
    '-b', '-s', '-bsa', '-a', '-t', '--clearsign', '--detach-sign', '--verify', '/dev/fd/3', '/dev/fd/4', '-', '--', '-u',
    'ed25519@test.invalid', '--status-fd', '1', '2', '7', '--logger-fd', '--list-keys', '--export', '--digest-algo', 'SHA512',
    '--output', '--encrypt', '--homedir', '/etc/passwd', '--with-colons', '-k', '-K', '--armor', 'x'.repeat(300),
  ];

  /** A command header: random bytes, a random argv, or a valid one with its length field broken. */
  function header(): Buffer {
    switch (rnd(4)) {
      case 0: return bytes(rnd(HEADER_SIZE + 64));
      case 1: {
        const argv = Array.from({ length: rnd(8) }, () => (rnd(10) === 0 ? bytes(1 + rnd(6)).toString('latin1') : pick(TOKENS)));
        try { return encodeCommand(argv.map((a) => a.replace(/\0/g, ''))); } catch { return encodeCommand(['-bsa']); }
      }
      case 2: {
        const h = encodeCommand(pick([['-bsa'], ['--verify', '/dev/fd/3', '-'], ['--clearsign'], ['--list-keys']]));
        h.writeUInt32LE(rnd(2) ? rnd(2048) : 0xffffffff - rnd(4), 0);
        return h;
      }
      default: return encodeCommand(pick([['-bsa'], ['-bs', '-t'], ['--verify', '/dev/fd/3', '-'], ['--clearsign'], ['--export', '-a']]));
    }
  }

  /** Frames: well-formed or not (odd stream numbers, lying lengths, exit frames, data after close). */
  function frames(streams: number): Buffer {
    const out: Buffer[] = [];
    const n = rnd(6);
    for (let i = 0; i < n; i++) {
      const h = Buffer.alloc(8);
      const len = pick([0, 1, 16, 4096, 4097, 65536, rnd(5000)]);
      h.writeInt32LE(pick([0, 1, streams, -1, -2, 7, -0x80000000, rnd(4)]), 0);
      h.writeUInt32LE(rnd(5) === 0 ? rnd(0xffffffff) : len, 4);
      out.push(h, bytes(Math.min(len, rnd(2) ? len : rnd(len + 1))));
    }
    if (rnd(2)) for (let s = 0; s < streams; s++) out.push(encodeClose(s));
    return Buffer.concat(out);
  }

  /** A real signature, damaged: bits flipped, cut, spliced with random bytes, or re-armored badly. */
  function badSignature(): Buffer {
    const sig = Buffer.from(pick(sigs));
    switch (rnd(5)) {
      case 0: for (let i = 0; i < 1 + rnd(4); i++) sig[rnd(sig.length)]! ^= 1 << rnd(8); return sig;
      case 1: return sig.subarray(0, rnd(sig.length));
      case 2: { const at = rnd(sig.length); return Buffer.concat([sig.subarray(0, at), bytes(rnd(20)), sig.subarray(at)]); }
      case 3: return Buffer.concat([Buffer.from([0x88 + rnd(8), rnd(256)]), bytes(rnd(40))]);
      default: {
        const t = sig.toString('latin1');
        const lines = t.split('\n');
        lines.splice(rnd(lines.length), rnd(2), pick(['', '=AAAA', '!!', '-----END PGP SIGNATURE-----', 'Version: x']));
        return Buffer.from(lines.join('\n'), 'latin1');
      }
    }
  }

  function verifyRequest(): Buffer {
    const stream = (i: number, b: Buffer) => Buffer.concat([...encodeData(i, b), encodeClose(i)]);
    return Buffer.concat([encodeCommand(['--status-fd=1', '--verify', '/dev/fd/3', '-']), stream(0, rnd(4) ? data : bytes(rnd(64))), stream(1, badSignature())]);
  }

  it(`${RUNS} runs (seed ${SEED.toString(16)}): each ends with an exit frame or a one-line error, never an internal error`, async () => {
    const kinds = { header: 0, frames: 0, verify: 0 };
    let exitFrames = 0;
    const statuses = new Set<string>();
    for (let run = 0; run < RUNS; run++) {
      const kind = pick(['header', 'frames', 'verify'] as const);
      kinds[kind]++;
      const input = kind === 'header' ? Buffer.concat([header(), rnd(2) ? frames(1) : Buffer.alloc(0)])
        : kind === 'frames' ? Buffer.concat([encodeCommand(pick([['-bsa'], ['--verify', '/dev/fd/3', '-'], ['-bs', '-t']])), frames(rnd(3))])
          : verifyRequest();
      const r = await q.gpgRaw(input, 20_000);
      const what = `run ${run} (${kind}, ${input.length} bytes: ${input.subarray(0, 48).toString('hex')}…)`;
      expect(r.killed, `${what}: still running after 20 s`).toBe(false);
      const said = r.processStderr + r.streams.map((s) => s?.toString('latin1') ?? '').join('');
      expect(said, what).not.toMatch(/internal error/);
      expect(r.processStderr, what).not.toMatch(/\n\s+at /);
      if (r.exit !== undefined) {
        exitFrames++;
        // gpg's own answers to --verify: a status line of the kind gpg writes.
        if (kind === 'verify' && r.exit > 0 && r.exit !== 1) expect(said, what).toMatch(/\[GNUPG:\] (NODATA|ERRSIG|BADSIG)|qbuild: keys: /);
        for (const m of said.matchAll(/\[GNUPG:\] (NODATA|ERRSIG|BADSIG|GOODSIG)/g)) statuses.add(m[1]!);
      } else {
        // Over a socket there is no exit code or stderr: every call there must end with an exit frame.
        expect(KEYS_SERVICE, `${what}: no exit frame`).toBe('process');
        expect(r.processCode, what).not.toBe(0);
        expect(r.processStderr.trimEnd().split('\n'), what).toHaveLength(1);
      }
    }
    // The generator reaches every part of the protocol, and most runs get as far as an exit frame.
    expect(Math.min(kinds.header, kinds.frames, kinds.verify)).toBeGreaterThan(RUNS / 6);
    expect(exitFrames).toBeGreaterThan(RUNS / 2);
    expect([...statuses].sort()).toEqual(expect.arrayContaining(['BADSIG', 'NODATA']));
  }, 300_000);
});
