import { describe, expect, it } from 'vitest';
import { planSign } from '../../../../src/roles/build/sign/plan.js';

describe('qbuild sign: local handling of the gpg command line', () => {
  it('rpmsign: -sbo FILE -- - keeps -o local', () => {
    const p = planSign(['--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'Key Name', '-sbo', '/tmp/x.rpm.sig', '--', '-']);
    expect(p.outputFile).toBe('/tmp/x.rpm.sig');
    expect(p.args).toEqual(['--no-verbose', '--no-armor', '--no-secmem-warning', '-u', 'Key Name', '-sb', '--', '-']);
    expect(p.request.action).toBe('detach-sign');
  });

  it('bundled -sboFILE, --output=FILE, -o - (stdout)', () => {
    expect(planSign(['-sbo/tmp/a.sig', '-']).outputFile).toBe('/tmp/a.sig');
    expect(planSign(['--output=/tmp/b', '--clearsign']).outputFile).toBe('/tmp/b');
    const p = planSign(['-o', '-', '--detach-sign']);
    expect(p.outputFile).toBeUndefined();
    expect(p.args).toEqual(['--detach-sign', '-']);
    expect(() => planSign(['-o', 'a', '-o', 'b', '-b'])).toThrow(/already set/);
  });

  it('git: --status-fd=2 -bsau KEY', () => {
    const p = planSign(['--status-fd=2', '-bsau', 'ABCD']);
    expect(p.args).toEqual(['--status-fd', '2', '-bsa', '-u', 'ABCD', '-']);
    expect(p.routes).toEqual([1, 2]);
  });

  it('git verify: the signature file is read locally and sent as /dev/fd/3', () => {
    const p = planSign(['--status-fd=1', '--keyid-format=long', '--verify', '/tmp/sig', '-']);
    expect(p.sigFile).toBe('/tmp/sig');
    expect(p.args.slice(-2)).toEqual(['/dev/fd/3', '-']);
    // status on 1 is renumbered so it never mixes with stdout data, and routed back to fd 1
    expect(p.request.outputFds[2]).toBeGreaterThanOrEqual(1000);
    expect(p.routes).toEqual([1, 2, 1]);
  });

  it('debsign: --clearsign --output OUT IN reads IN locally', () => {
    const p = planSign(['--local-user', 'K', '--clearsign', '--list-options', 'no-show-policy-urls', '--armor', '--textmode', '--output', 'out.asc', 'in.dsc']);
    expect(p.inputFile).toBe('in.dsc');
    expect(p.outputFile).toBe('out.asc');
    expect(p.args.at(-1)).toBe('-');
  });

  it('drops harmless options and renames aliases like the split-gpg wrapper', () => {
    const p = planSign(['--yes', '--no-tty', '--batch', '--pinentry-mode', 'loopback', '--command-fd=0', '--detach', '--quiet', '--sign-with', 'K', '--charset', 'utf-8', '-a']);
    expect(p.args).toEqual(['--batch', '--detach-sign', '-q', '-u', 'K', '-a', '-']);
    expect(() => planSign(['--charset', 'latin1', '-b'])).toThrow(/character set/);
  });

  it('list and export keep key IDs as they are and read no input', () => {
    expect(planSign(['--list-keys', 'a@b']).args).toEqual(['--list-keys', 'a@b']);
    expect(planSign(['--export', '-a', 'K']).inputFile).toBeUndefined();
  });

  it('refuses locally, with the allowlist\'s words', () => {
    expect(() => planSign(['--export-secret-keys'])).toThrow('Forbidden option: --export-secret-keys');
    expect(() => planSign(['--detach-si'])).toThrow(/Abbreviated/);
    expect(() => planSign(['-b', 'a', 'b'])).toThrow(/Too many filename/);
    expect(() => planSign(['-b', '--status-fd', '01'])).toThrow(/Leading zeroes/);
  });
});
