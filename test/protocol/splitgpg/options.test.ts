import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPrintableUtf8, parseGpgArgs, parseFdNumber } from '../../../src/protocol/splitgpg/options.js';

const forbidden = JSON.parse(readFileSync(new URL('../../fixtures/splitgpg/forbidden-argv.json', import.meta.url), 'utf8')) as string[][];

const ok = (args: (string | Uint8Array)[], side: 'client' | 'server' = 'server') => {
  const r = parseGpgArgs(args, side);
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.request;
};

describe('allowed requests', () => {
  it('rpmsign: --no-verbose --no-armor --no-secmem-warning -u NAME -sb -- -', () => {
    const r = ok(['--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'Test Key', '-sb', '--', '-']);
    expect(r.action).toBe('detach-sign');
    expect(r.armor).toBe(false);
    expect(r.localUsers).toEqual(['Test Key']);
    expect(r.operands).toEqual(['-']);
  });

  it('git: --status-fd=2 -bsau KEY maps status onto stderr (stream 1)', () => {
    const r = ok(['--status-fd=2', '-bsau', 'ABCDEF0123456789']);
    expect(r.action).toBe('detach-sign');
    expect(r.armor).toBe(true);
    expect(r.localUsers).toEqual(['ABCDEF0123456789']);
    expect(r.outputFds).toEqual([1, 2]);
    expect(r.outputFds.indexOf(r.statusFd!)).toBe(1);
  });

  it('a new status fd becomes stream 2, logger then stream 3, in command-line order', () => {
    const r = ok(['--logger-fd', '7', '--status-fd', '5', '--clearsign', '-o', '-', '-']);
    expect(r.action).toBe('clearsign');
    expect(r.outputFds).toEqual([1, 2, 7, 5]);
  });

  it('--digest-algo, --textmode, --list-options and friends', () => {
    const r = ok(['--digest-algo=sha512', '--textmode', '--list-options', 'no-show-policy-urls', '--armor', '--clearsign']);
    expect(r.digestAlgo).toBe('SHA512');
    expect(r.textmode).toBe(true);
  });

  it('list and export take key IDs, even ones that look like options after --', () => {
    expect(ok(['--list-keys', 'a@b', 'C0FFEE']).operands).toEqual(['a@b', 'C0FFEE']);
    expect(ok(['-k', '--with-colons', '--', '--weird-uid']).action).toBe('list-keys');
    expect(ok(['--export', '-a', 'KEY']).action).toBe('export');
    expect(ok(['-K']).action).toBe('list-secret-keys');
  });

  it('verify needs the signature on /dev/fd/N, N ≥ 3', () => {
    const r = ok(['--status-fd=1', '--keyid-format=long', '--verify', '/dev/fd/3', '-']);
    expect(r.verifySigFd).toBe(3);
    expect(r.inputFds).toEqual([0, 3]);
  });

  it('the client side may name one data file (it is read locally)', () => {
    expect(ok(['--clearsign', 'Release'], 'client').operands).toEqual(['Release']);
    expect(ok(['--verify', 'x.sig', 'x'], 'client').operands).toEqual(['x.sig', 'x']);
  });

  it('accepts multi-byte UTF-8 in a user ID', () => {
    expect(ok(['-bsa', '-u', 'Jörg Ünicode 鍵']).localUsers).toEqual(['Jörg Ünicode 鍵']);
  });
});

describe('refused argument vectors', () => {
  it('has at least 40 adversarial vectors', () => {
    expect(forbidden.length).toBeGreaterThanOrEqual(40);
  });

  it.each(forbidden.map((v) => [JSON.stringify(v), v] as const))('refuses %s', (_name, argv) => {
    const r = parseGpgArgs(argv, 'server');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message.length).toBeGreaterThan(5);
  });

  it('says why: abbreviation, forbidden option, output, fd', () => {
    const msg = (a: string[]) => { const r = parseGpgArgs(a, 'server'); return r.ok ? '' : r.message; };
    expect(msg(['--detach', '-a'])).toBe("Abbreviated option '--detach' must be written as '--detach-sign'");
    expect(msg(['--export-secret-keys'])).toBe('Forbidden option: --export-secret-keys');
    expect(msg(['-bsa', '--output', '/etc/x'])).toBe("Only '-' argument supported for --output option");
    expect(msg(['-bsa', '--status-fd', '01'])).toBe('Leading zeroes in FD argument 01 not allowed');
    expect(msg(['-bsa', 'file'])).toMatch(/Non-option arguments not allowed/);
    expect(msg(['-bsa', '-', '--x'])).toMatch(/must not start with '-'/);
  });

  it('refuses bytes that are not printable UTF-8', () => {
    const bad = [Buffer.from([0xff]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('a\tb'), Buffer.from([0xc2, 0x85])];
    for (const b of bad) {
      expect(isPrintableUtf8(b)).toBe(false);
      const r = parseGpgArgs(['-bsa', '-u', b], 'server');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/printable UTF-8/);
    }
  });

  it('fd numbers: decimal, no leading zero, below 1024', () => {
    expect(parseFdNumber('3')).toBe(3);
    expect(parseFdNumber('1023')).toBe(1023);
    for (const v of ['', '03', '1024', '+3', '3 ', '0x3', '١']) expect(() => parseFdNumber(v)).toThrow();
  });
});
