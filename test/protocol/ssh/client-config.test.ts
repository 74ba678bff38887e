import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKnownHosts, renderSshConfig } from '../../../src/protocol/ssh/client-config.js';
import { QbuildError } from '../../../src/errors.js';
import { run } from '../../helpers/run.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qbuild-sshcfg-');

/** A real host key made by ssh-keygen: [type, base64]. */
async function realKey(type: 'ed25519' | 'ecdsa' | 'rsa'): Promise<[string, string]> {
  const d = tmp();
  const r = await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', '', '-f', join(d, 'k')]);
  expect(r.code).toBe(0);
  const [t, k] = readFileSync(join(d, 'k.pub'), 'utf8').trim().split(' ');
  return [t!, k!];
}

/** What OpenSSH itself makes of the rendered file for `host` (`ssh -G`): option → values. */
async function effective(config: string, host: string): Promise<Map<string, string[]>> {
  const f = join(tmp(), 'config');
  writeFileSync(f, config, { mode: 0o600 });
  const r = await run('ssh', ['-T', '-G', '-F', f, host]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const m = new Map<string, string[]>();
  for (const line of r.stdout.toString().split('\n').filter(Boolean)) {
    const sp = line.indexOf(' ');
    const k = line.slice(0, sp);
    m.set(k, [...(m.get(k) ?? []), line.slice(sp + 1)]);
  }
  return m;
}

function configError(f: () => unknown): string {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(QbuildError);
    expect((e as QbuildError).code).toBe('config');
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a config error');
}

const base = {
  proxyVm: 'sys-net',
  hosts: [{ host: 'mirror.example.org', user: 'upload' }, { host: 'localhost', user: 'root' }],
  knownHostsFile: '/home/user/.ssh/known_hosts',
  identityFile: '/home/user/.ssh/id_ed25519',
};

describe('renderSshConfig', () => {
  it('as ssh reads it: each host its user, all through ConnectSSH, key pinned, nothing forwarded', async () => {
    const text = renderSshConfig(base);
    for (const [host, user] of [['mirror.example.org', 'upload'], ['localhost', 'root']] as const) {
      const g = await effective(text, host);
      expect(g.get('user')).toEqual([user]);
      expect(g.get('proxycommand')).toEqual(['qrexec-client-vm sys-net local.ConnectSSH+%h']);
      expect(g.get('stricthostkeychecking')).toEqual(['true']);
      expect(g.get('userknownhostsfile')).toEqual(['/home/user/.ssh/known_hosts']);
      expect(g.get('globalknownhostsfile')).toEqual(['/dev/null']);
      expect(g.get('batchmode')).toEqual(['yes']);
      expect(g.get('forwardagent')).toEqual(['no']);
      expect(g.get('forwardx11')).toEqual(['no']);
      expect(g.get('updatehostkeys')).toEqual(['false']);
      expect(g.get('passwordauthentication')).toEqual(['no']);
      expect(g.get('identityfile')).toEqual(['/home/user/.ssh/id_ed25519']);
      expect(g.get('identitiesonly')).toEqual(['yes']);
    }
  });

  it('a host not listed still goes through the proxy (the policy decides), never direct', async () => {
    const g = await effective(renderSshConfig(base), 'elsewhere.example');
    expect(g.get('proxycommand')).toEqual(['qrexec-client-vm sys-net local.ConnectSSH+%h']);
    expect(g.get('stricthostkeychecking')).toEqual(['true']);
    // ssh lower-cases the name it is given: this is why host names must be lower case.
    expect((await effective(renderSshConfig(base), 'LocalHost')).get('hostname')).toEqual(['localhost']);
  });

  it('without an identity file, no IdentityFile line is written', () => {
    const text = renderSshConfig({ ...base, identityFile: undefined });
    expect(text).not.toMatch(/IdentityFile|IdentitiesOnly/);
  });

  it('refuses pillar text that would add or bend a directive', () => {
    const inject = [
      { ...base, hosts: [{ host: 'a.example\n    ProxyCommand sh -c evil', user: 'u' }] },
      { ...base, hosts: [{ host: 'a.example', user: 'u\nProxyCommand evil' }] },
      { ...base, hosts: [{ host: 'a.example', user: 'u x' }] },
      { ...base, hosts: [{ host: '*', user: 'u' }] },
      { ...base, hosts: [{ host: 'a.example !b', user: 'u' }] },
      { ...base, hosts: [{ host: 'Mirror.Example.org', user: 'u' }] },
      { ...base, hosts: [{ host: `${'a'.repeat(60)}.example`, user: 'u' }] },
      { ...base, hosts: [{ host: '-oProxyCommand=x', user: 'u' }] },
      { ...base, proxyVm: 'sys-net; touch /tmp/x' },
      { ...base, proxyVm: 'sys-net %h' },
      { ...base, knownHostsFile: '/home/user/%d/known_hosts' },
      { ...base, knownHostsFile: '~/.ssh/known_hosts' },
      { ...base, knownHostsFile: '/home/user/known hosts' },
      { ...base, knownHostsFile: '/home/user/../../etc/ssh/known_hosts' },
      { ...base, identityFile: '/home/user/id\nProxyCommand evil' },
    ];
    for (const c of inject) expect(configError(() => renderSshConfig(c))).toMatch(/^invalid /);
  });

  it('refuses a host listed twice (ssh would silently take the first user)', () => {
    const c = { ...base, hosts: [{ host: 'a.example', user: 'u' }, { host: 'a.example', user: 'v' }] };
    expect(configError(() => renderSshConfig(c))).toBe('ssh host "a.example" listed twice');
  });
});

describe('renderKnownHosts', () => {
  it('writes lines ssh-keygen finds the pinned keys in', async () => {
    const [t1, k1] = await realKey('ed25519');
    const [t2, k2] = await realKey('ecdsa');
    const [t3, k3] = await realKey('rsa');
    const text = renderKnownHosts([
      { host: 'localhost', keyType: t1, key: k1 },
      { host: 'localhost', keyType: t2, key: k2 },
      { host: 'mirror.example.org', keyType: t3, key: k3 },
    ]);
    expect(text).toBe(`localhost ${t1} ${k1}\nlocalhost ${t2} ${k2}\nmirror.example.org ${t3} ${k3}\n`);
    const f = join(tmp(), 'known_hosts');
    writeFileSync(f, text);
    const found = await run('ssh-keygen', ['-F', 'localhost', '-f', f]);
    expect(found.code).toBe(0);
    expect(found.stdout.toString()).toContain(k1);
    expect(found.stdout.toString()).toContain(k2);
    expect(found.stdout.toString()).not.toContain(k3);
    expect(renderKnownHosts([])).toBe('');
  });

  it('refuses an unknown type, a key of another type, a broken or padded-out key, and injection', async () => {
    const [t, k] = await realKey('ed25519');
    const [, rsa] = await realKey('rsa');
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: 'ssh-dss', key: k }]))).toMatch(/must be one of/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: 'ssh-rsa', key: k }]))).toMatch(/is not a ssh-rsa key/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: t, key: rsa }]))).toMatch(/is not a ssh-ed25519 key/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: t, key: k.slice(0, 24) }]))).toMatch(/is not a ssh-ed25519 key/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: t, key: `${k}\nevil ssh-ed25519 ${k}` }]))).toMatch(/base64/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: t, key: `${k} comment` }]))).toMatch(/base64/);
    expect(configError(() => renderKnownHosts([{ host: 'h,evil', keyType: t, key: k }]))).toMatch(/host/);
    expect(configError(() => renderKnownHosts([{ host: '@revoked', keyType: t, key: k }]))).toMatch(/host/);
    expect(configError(() => renderKnownHosts([{ host: 'h', keyType: `${t} ${k}\nh`, key: k }]))).toMatch(/type/);
  });
});
