import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeysQube } from './keys-qube.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';

const text = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString('latin1');
const VERIFY = ['--status-fd=1', '--verify', '/dev/fd/3', '-'];

/**
 * Finding D: `qubes.Gpg --verify` answers every input as gpg does (GOODSIG / BADSIG / ERRSIG /
 * NODATA status, exit 0/1/2) and always with an exit frame, never an internal error. Real
 * signatures come from gpg with the same fixture keys the keys VM holds.
 */
describe('qubes.Gpg --verify (finding D)', () => {
  const q = new KeysQube();
  const signer = new GpgHome();
  const stranger = new GpgHome();
  const data = Buffer.from('a\r\r\nb  \nc\rd\n');
  const sigs: Record<string, Buffer> = {};
  const gpgSign = (home: GpgHome, args: string[]) => {
    writeFileSync(join(home.dir, 'in'), data);
    home.gpgSync(['--yes', ...args, '-o', join(home.dir, 'out'), join(home.dir, 'in')]);
    return readFileSync(join(home.dir, 'out'));
  };

  beforeAll(async () => {
    for (const k of ['gpg-ed25519.sec.asc', 'gpg-rsa.sec.asc']) {
      expect((await q.importKey(k)).code).toBe(0);
      signer.gpgSync(['--import'], { input: fixture(k) });
    }
    stranger.generateKey('stranger <stranger@example.invalid>');
    sigs.ed = gpgSign(signer, ['-u', 'ed25519@test.invalid', '--detach-sign']);
    sigs.edText = gpgSign(signer, ['-u', 'ed25519@test.invalid', '--detach-sign', '--textmode', '--armor']);
    sigs.rsa = gpgSign(signer, ['-u', 'rsa@test.invalid', '--digest-algo', 'SHA512', '--detach-sign', '--armor']);
    sigs.rsaText = gpgSign(signer, ['-u', 'rsa@test.invalid', '--detach-sign', '--textmode']);
    sigs.stranger = gpgSign(stranger, ['--detach-sign']);
    sigs.sha1 = gpgSign(signer, ['-u', 'ed25519@test.invalid', '--digest-algo', 'SHA1', '--detach-sign']);
  });
  afterAll(() => { q.cleanup(); signer.cleanup(); stranger.cleanup(); });

  const verify = (sig: Buffer, d = data) => q.gpg(VERIFY, undefined, { inputStreams: [d, sig] });

  it('GOODSIG for gpg\'s binary and text-mode signatures (Ed25519, RSA, SHA1..SHA512), BADSIG once the data changes', async () => {
    for (const [name, sig] of Object.entries(sigs).filter(([n]) => n !== 'stranger')) {
      const good = await verify(sig);
      expect(good.exit, `${name}: ${text(good.streams[1])}`).toBe(0);
      expect(text(good.streams[0])).toMatch(/^\[GNUPG:\] GOODSIG [0-9A-F]{16} /m);
      expect(text(good.streams[0])).toMatch(/^\[GNUPG:\] VALIDSIG [0-9A-F]{40} /m);
      const bad = await verify(sig, Buffer.from('a\r\r\nb  \nc\rd\nX'));
      expect(bad.exit, name).toBe(1);
      expect(text(bad.streams[0])).toMatch(/^\[GNUPG:\] BADSIG /m);
    }
    // A text-mode signature covers GnuPG's text form: CRs before LF do not matter, blanks do.
    expect((await verify(sigs.edText!, Buffer.from('a\nb  \r\nc\rd\r\n'))).exit).toBe(0);
    expect((await verify(sigs.edText!, Buffer.from('a\nb\nc\rd\n'))).exit).toBe(1);
    expect((await verify(sigs.ed!, Buffer.from('a\nb  \r\nc\rd\r\n'))).exit).toBe(1);
  }, 60_000);

  it('NO_PUBKEY for a signature by a key this VM does not hold', async () => {
    const r = await verify(sigs.stranger!);
    expect(r.exit).toBe(2);
    expect(text(r.streams[0])).toMatch(/^\[GNUPG:\] ERRSIG [0-9A-F]{16} 22 8 00 \d+ 9$/m);
    expect(text(r.streams[0])).toMatch(/^\[GNUPG:\] NO_PUBKEY /m);
  });

  const flip = (b: Buffer, at: number) => { const c = Buffer.from(b); c[at]! ^= 0x01; return c; };
  const v4 = (sigType: number) => {
    // A well-formed v4 packet: class, EdDSA, SHA256, creation time + issuer, quick check, r, s.
    const hashed = Buffer.from([5, 2, 0x60, 0, 0, 0]);
    const unhashed = Buffer.concat([Buffer.from([9, 16]), Buffer.from('19F142B8A03365F5', 'hex')]);
    const body = Buffer.concat([
      Buffer.from([4, sigType, 22, 8, 0, hashed.length]), hashed, Buffer.from([0, unhashed.length]), unhashed,
      Buffer.from([0xab, 0xcd, 0, 8, 1, 0, 8, 1]),
    ]);
    return Buffer.concat([Buffer.from([0x88, body.length]), body]);
  };
  const MALFORMED: [string, () => Buffer, RegExp, number][] = [
    ['the reported packet (v3, cut short)', () => Buffer.from('88080305000000000000', 'hex'), /^\[GNUPG:\] ERRSIG 0{16} 0 0 00 0 4$/m, 2],
    ['empty', () => Buffer.alloc(0), /^\[GNUPG:\] NODATA 2$/m, 2],
    ['text that is no OpenPGP', () => Buffer.from('hello world'), /^\[GNUPG:\] NODATA 1$/m, 2],
    ['armor with bad characters', () => Buffer.from('-----BEGIN PGP SIGNATURE-----\n\n!!!!\n-----END PGP SIGNATURE-----\n'), /^\[GNUPG:\] NODATA 1$/m, 2],
    ['armor without an END line', () => Buffer.from(text(sigs.edText).split('-----END')[0]!), /^\[GNUPG:\] NODATA 1$/m, 2],
    ['armor with a wrong checksum', () => Buffer.from(text(sigs.edText).replace(/\n=(....)\n/, (_, c: string) => `\n=${c === 'AAAA' ? 'AAAB' : 'AAAA'}\n`)), /^\[GNUPG:\] NODATA 1$/m, 2],
    ['a cut-off binary signature', () => sigs.ed!.subarray(0, 30), /^\[GNUPG:\] NODATA 3$/m, 2],
    ['only a packet header', () => sigs.ed!.subarray(0, 1), /^\[GNUPG:\] NODATA 3$/m, 2],
    ['two signatures', () => Buffer.concat([sigs.ed!, sigs.ed!]), /^\[GNUPG:\] NODATA 3$/m, 2],
    ['a public key instead of a signature', () => Buffer.from([0x99, 0, 1, 4]), /^\[GNUPG:\] NODATA 4$/m, 2],
    ['a partial-length packet', () => Buffer.from([0xc2, 0xe1, 0, 0]), /^\[GNUPG:\] NODATA 3$/m, 2],
    ['hashed area longer than the packet', () => { const b = Buffer.from(sigs.ed!); b[6] = 0xff; return b; }, /^\[GNUPG:\] NODATA 3$/m, 2],
    ['a key-certification class', () => v4(0x13), /^\[GNUPG:\] ERRSIG 19F142B8A03365F5 22 8 13 \d+ 4$/m, 2],
    ['a short forged EdDSA value', () => v4(0x00), /^\[GNUPG:\] BADSIG 19F142B8A03365F5 /m, 1],
    ['a flipped bit in the signature value', () => flip(sigs.ed!, sigs.ed!.length - 3), /^\[GNUPG:\] BADSIG /m, 1],
    ['a flipped bit in the hashed subpackets', () => flip(sigs.ed!, 12), /^\[GNUPG:\] (BADSIG|NODATA 3|ERRSIG) /m, -1],
  ];
  for (const [what, make, status, exit] of MALFORMED) {
    it(`answers ${what} with gpg's status and an exit frame`, async () => {
      const r = await verify(make());
      expect(r.exit, r.processStderr).toBe(exit < 0 ? r.exit : exit);
      expect(r.exit).toBeGreaterThan(0);
      expect(text(r.streams[0])).toMatch(status);
      expect(text(r.streams[1])).toMatch(/^gpg: /);
      expect(r.processStderr + text(r.streams[1])).not.toMatch(/internal error/);
    });
  }
});
