import { describe, expect, it } from 'vitest';
import { checkArgument, checkServiceName, checkTarget, checkVmName, parseServiceFullName } from '../../../src/protocol/qrexec/names.js';

const rejects = (f: () => unknown, code = 'bad-name') => expect(f).toThrow(expect.objectContaining({ code }));

describe('qrexec names', () => {
  it('accepts the services and arguments qbuild uses', () => {
    expect(checkServiceName('qubesbuilder.BuildLog')).toBe('qubesbuilder.BuildLog');
    expect(checkArgument('build-fedora')).toBe('build-fedora');
    expect(parseServiceFullName('local.ConnectSSH+github.com')).toEqual({ service: 'local.ConnectSSH', argument: 'github.com' });
    expect(parseServiceFullName('qubes.Gpg')).toEqual({ service: 'qubes.Gpg', argument: undefined });
    expect(parseServiceFullName('qubes.Gpg+')).toEqual({ service: 'qubes.Gpg', argument: undefined });
  });

  it('rejects bad service names and arguments instead of mangling them', () => {
    for (const s of ['', 'a/b', 'a b', '..', 'q+x', 'ü', 'x'.repeat(65)]) rejects(() => checkServiceName(s));
    // A bad argument is the caller's bad input (exit 2), not a qrexec problem (125).
    for (const a of ['../etc', 'a/b', '..', 'a b', 'a\nb', 'x'.repeat(65)]) rejects(() => checkArgument(a), 'bad-input');
    rejects(() => parseServiceFullName('svc+a+b'), 'bad-input');
    rejects(() => parseServiceFullName('a/b+x'));
  });

  it('checks VM names and target keywords', () => {
    expect(checkVmName('build-fedora')).toBe('build-fedora');
    expect(checkTarget('@default')).toBe('@default');
    expect(checkTarget('@dispvm:builder-dvm')).toBe('@dispvm:builder-dvm');
    for (const n of ['', '1vm', '-x', 'a/b', 'vm name', 'x'.repeat(32), 'none', 'default', 'sys-net-dm']) rejects(() => checkVmName(n));
    for (const t of ['@anyvm', '@tag:x', '@nonsense', '@dispvm:1x']) rejects(() => checkTarget(t));
  });
});
