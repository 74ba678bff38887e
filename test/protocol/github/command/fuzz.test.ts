import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QbuildError } from '../../../../src/errors.js';
import { parseCanonicalCommand } from '../../../../src/protocol/github/command/canonical.js';
import { parseCommandLine } from '../../../../src/protocol/github/command/grammar.js';
import { crc24 } from '../../../../src/protocol/pgp/armor.js';
import { readCommandKeys, verifyCommandSignature } from '../../../../src/roles/build/commands/verify-signature.js';
import { TestSigner } from '../../../helpers/gpg.js';
import { xorshift32 } from '../../../helpers/random.js';

/**
 * The canonical parser on hostile input (seeded, reproducible): random bytes, real gpg blocks
 * with bytes flipped, inserted or cut, CRLF, NULs, huge lines, two signatures. Each input
 * parses or is refused as bad-input with one line: never another error, never slowly.
 */
let signer: TestSigner;
let block: string;
let two: string;
beforeAll(() => {
  signer = new TestSigner();
  signer.generateKey('second <second@example.invalid>');
  block = signer.clearsign('Upload-component r4.3 core-qrexec 0123456789abcdef0123456789abcdef01234567 current all\n');
  two = signer.gpgSync(['--clearsign', '--digest-algo', 'SHA256', '-u', 'test@example.invalid', '-u', 'second@example.invalid'], { input: 'Build-iso r4.3 4.3.0 202612020130\n' });
});
afterAll(() => signer.cleanup());

function outcome(text: string): 'ok' | 'refused' {
  try {
    parseCanonicalCommand(text);
    return 'ok';
  } catch (e) {
    if (!(e instanceof QbuildError) || e.code !== 'bad-input' || e.message.includes('\n')) throw e;
    return 'refused';
  }
}

describe('parseCanonicalCommand fuzzed', () => {
  it('random bytes, mutations of a real block, CRLF, NULs, huge lines and two signatures: parsed or refused, never a crash', () => {
    const rnd = xorshift32(20261202);
    const alphabet = '-=/+ \n\r\t\0AZaz09:.PGPSIGNEDMESSAGEBEGINEND\u00e9';
    const t0 = Date.now();
    expect(outcome(block)).toBe('ok');
    expect(outcome(two)).toBe('refused');
    for (const special of [block.replace(/\n/g, '\r\n'), block.replace('\n', '\0\n'), block.replace('Hash: SHA256', `Hash: SHA256${'x'.repeat(1 << 20)}`), `${block}${block}`, block.repeat(3).slice(0, 8192), '', '\n', '-----BEGIN PGP SIGNED MESSAGE-----\n']) {
      expect(outcome(special)).toBe('refused');
    }
    for (let i = 0; i < 4000; i++) {
      let t: string;
      switch (rnd(4)) {
        case 0: t = Array.from({ length: rnd(300) }, () => String.fromCharCode(rnd(256))).join(''); break;
        case 1: { const a = block.split(''); a[rnd(a.length)] = alphabet[rnd(alphabet.length)]!; t = a.join(''); break; }
        case 2: { const at = rnd(block.length); t = block.slice(0, at) + alphabet[rnd(alphabet.length)]! + block.slice(at); break; }
        default: { const at = rnd(block.length); t = block.slice(0, at) + block.slice(at + 1 + rnd(20)); }
      }
      outcome(t);
    }
    for (let i = 0; i < 2000; i++) {
      const words = Array.from({ length: 1 + rnd(8) }, () => Array.from({ length: rnd(45) }, () => 'Uploadcmpnt-r4.3 0af_'[rnd(21)]).join(''));
      try {
        parseCommandLine(words.join(' '));
      } catch (e) {
        if (!(e instanceof QbuildError) || e.code !== 'bad-input') throw e;
      }
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('signature packets with bytes changed (armor and CRC-24 rebuilt around them): the parse and the signature check refuse, never throw', async () => {
    const rnd = xorshift32(7);
    const c = parseCanonicalCommand(block);
    const keys = await readCommandKeys(signer.gpgSync(['--armor', '--export']));
    const head = block.slice(0, block.indexOf('-----BEGIN PGP SIGNATURE-----\n') + 30);
    let verified = 0;
    for (let i = 0; i < 300; i++) {
      const p = Buffer.from(c.packet);
      for (let k = 1 + rnd(3); k > 0; k--) p[2 + rnd(p.length - 2)] = rnd(256);
      const crc = Buffer.alloc(3);
      crc.writeUIntBE(crc24(p), 0, 3);
      const text = `${head}\n${p.toString('base64').match(/.{1,64}/g)!.join('\n')}\n=${crc.toString('base64')}\n-----END PGP SIGNATURE-----\n`;
      let parsed;
      try {
        parsed = parseCanonicalCommand(text);
      } catch (e) {
        if (!(e instanceof QbuildError) || e.code !== 'bad-input') throw e;
        continue;
      }
      const v = await verifyCommandSignature(parsed, keys, new Date());
      if (v.ok) verified++;
      else expect(v.reason).not.toMatch(/\n/);
    }
    // A byte of the unhashed area or the hash prefix may change without breaking the signature.
    expect(verified).toBeLessThan(300);
  });
});
