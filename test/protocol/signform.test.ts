import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORM_TOKEN, MAX_TEXT_LINE, formDigest, formFromToken, signedBytes, type SignForm } from '../../src/protocol/signform.js';
import { GpgHome } from '../helpers/gpg.js';
import { xorshift32 } from '../helpers/random.js';

/**
 * The oracle is GnuPG itself: `--debug hashing` makes gpg write the exact bytes it feeds the
 * signature hash to `dbgmd-00001.<what>` in its working directory, both when it signs and
 * when it verifies. signedBytes must equal both, byte for byte.
 */
let home: GpgHome;
let work: string;
beforeAll(() => {
  home = new GpgHome();
  home.generateKey('signform test <signform@example.invalid>');
  work = mkdtempSync(join(home.dir, 'w-'));
});
afterAll(() => home.cleanup());

function hashedByGpg(args: string[], input: Buffer): Buffer {
  for (const f of readdirSync(work)) rmSync(join(work, f));
  writeFileSync(join(work, 'in'), input);
  execFileSync('gpg', ['--homedir', home.dir, '--batch', '--no-tty', '--debug', 'hashing', ...args], { cwd: work, stdio: 'ignore' });
  const dumps = readdirSync(work).filter((f) => f.startsWith('dbgmd-00001.'));
  expect(dumps).toHaveLength(1);
  return readFileSync(join(work, dumps[0]!));
}

/** What gpg hashes when it makes (and then checks) a signature of `form` over `data`. */
function gpgHashes(form: SignForm, data: Buffer): { signed: Buffer; verified: Buffer } {
  if (form === 'clearsign') {
    const signed = hashedByGpg(['--clearsign', '-o', 'out', 'in'], data);
    const block = readFileSync(join(work, 'out'));
    const verified = hashedByGpg(['--verify', 'in'], block);
    return { signed, verified };
  }
  const signed = hashedByGpg(['--detach-sign', ...(form === 'text' ? ['--textmode'] : []), '-o', 'sig', 'in'], data);
  const sig = readFileSync(join(work, 'sig'));
  for (const f of readdirSync(work)) rmSync(join(work, f));
  writeFileSync(join(work, 'in'), data);
  writeFileSync(join(work, 'in.sig'), sig);
  execFileSync('gpg', ['--homedir', home.dir, '--batch', '--no-tty', '--debug', 'hashing', '--verify', 'in.sig', 'in'], { cwd: work, stdio: 'ignore' });
  const verified = readFileSync(join(work, readdirSync(work).find((f) => f.startsWith('dbgmd-00001.'))!));
  return { signed, verified };
}

const EDGE_CASES = [
  '', '\n', '\r', '\r\n', '\r\r\n', 'a', 'a\n', 'a\r', 'a\r\n', 'a\r\r\n', 'a\n\n', 'a\n  ', 'a \n', 'a\t\n', 'a \t \n',
  'a \r \r\n', ' \r\n\t\n', 'a\rb\n', 'a\rb', 'Origin: qbuild\nSuite: stable\n', 'Origin: qbuild\r\nSuite: stable\r\n',
  'Origin: qbuild  \nSuite: stable\t\n', '-dash\n- x\n--\nFrom here\n', 'last line   ', 'a\r\r\nb\r\r\n', '\n\n\n', '\x00\xff\x7f\n',
];

describe('signedBytes against GnuPG 2.2', () => {
  for (const form of ['text', 'clearsign', 'binary'] as const) {
    it(`${form}: equals what gpg hashes on sign and on verify, for every edge case`, () => {
      for (const s of EDGE_CASES) {
        const data = Buffer.from(s, 'latin1');
        const { signed, verified } = gpgHashes(form, data);
        const ours = signedBytes(form, data);
        expect(ours.toString('latin1'), JSON.stringify(s)).toBe(signed.toString('latin1'));
        expect(ours.toString('latin1'), JSON.stringify(s)).toBe(verified.toString('latin1'));
      }
    }, 60_000);
  }

  it('text and clearsign: equal what gpg hashes for seeded random texts of CR, LF, blanks and letters', () => {
    const rnd = xorshift32(0x5167f0);
    const alphabet = ['a', 'b', '-', ' ', '\t', '\r', '\n', '\r\n', 'F'];
    for (let i = 0; i < 25; i++) {
      let s = '';
      const n = rnd(40);
      for (let j = 0; j < n; j++) s += alphabet[rnd(alphabet.length)];
      const data = Buffer.from(s, 'latin1');
      for (const form of ['text', 'clearsign'] as const) {
        const { signed, verified } = gpgHashes(form, data);
        expect(signedBytes(form, data).toString('latin1'), `${form} ${JSON.stringify(s)}`).toBe(signed.toString('latin1'));
        expect(signedBytes(form, data).toString('latin1'), `${form} ${JSON.stringify(s)}`).toBe(verified.toString('latin1'));
      }
    }
  }, 120_000);

  it('refuses lines GnuPG would truncate, and accepts the longest allowed line', () => {
    // gpg hashes only the first ~19993 bytes of a longer line: texts differing after that would share a signature.
    const long = Buffer.from(`${'x'.repeat(30000)}\n`);
    expect(() => signedBytes('text', long)).toThrow(/longer than/);
    expect(() => formDigest('clearsign', long)).toThrow(/longer than/);
    expect(signedBytes('binary', long)).toBe(long);
    const max = Buffer.from(`${'y'.repeat(MAX_TEXT_LINE - 1)}\n`);
    const { signed } = gpgHashes('text', max);
    expect(signedBytes('text', max).equals(signed)).toBe(true);
  }, 30_000);
});

describe('form tokens and digests', () => {
  it('maps tokens both ways and refuses anything else', () => {
    for (const f of ['binary', 'text', 'clearsign'] as const) expect(formFromToken(FORM_TOKEN[f])).toBe(f);
    for (const t of ['SHA256', 'text', 'sha512', 'clearsign', '', 'text-sha256 ']) expect(formFromToken(t)).toBeUndefined();
  });

  it('gives one digest to texts that differ only where the form ignores', () => {
    const d = Buffer.from('Origin: qbuild\nSuite: stable\n');
    const crlf = Buffer.from('Origin: qbuild\r\nSuite: stable\r\n');
    const blanks = Buffer.from('Origin: qbuild \nSuite: stable\t\n');
    expect(formDigest('binary', crlf)).not.toBe(formDigest('binary', d));
    expect(formDigest('text', crlf)).toBe(formDigest('text', d));
    expect(formDigest('text', blanks)).not.toBe(formDigest('text', d));
    expect(formDigest('clearsign', crlf)).toBe(formDigest('clearsign', d));
    expect(formDigest('clearsign', blanks)).toBe(formDigest('clearsign', d));
  });
});
