import { describe, expect, it } from 'vitest';
import { SYSNET_DEFAULTS, parseListen, parseSysnetConfig } from '../../../src/roles/sysnet/config.js';

const parse = (sysnet: Record<string, unknown>) => parseSysnetConfig({ vm: 'sys-net', role: 'sysnet', sysnet }, { QBUILD_STATE: '/st' });

describe('sysnet config', () => {
  it('reads what provision writes and fills in defaults', () => {
    const c = parse({ buildVms: ['build-fedora'], listen: '0.0.0.0:80', secretFile: '/rw/config/qbuild/webhook-secret', sshHosts: ['github.com'] });
    expect(c).toMatchObject({ buildVms: ['build-fedora'], listen: { host: '0.0.0.0', port: 80 }, sshHosts: ['github.com'], sshPort: 22, queueMax: SYSNET_DEFAULTS.queueMax });
    expect(parse({}).secretFile).toBe('/st/webhook-secret');
    expect(parse({}).listen).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('rejects unknown keys, bad VM names, bad numbers and duplicates', () => {
    expect(() => parse({ bildVms: [] })).toThrow(/unknown key "bildVms"/);
    expect(() => parse({ buildVms: ['dom0 '] })).toThrow(/VM name/);
    expect(() => parse({ buildVms: ['a', 'a'] })).toThrow(/twice/);
    expect(() => parse({ queueMax: 0 })).toThrow(/positive integer/);
    expect(() => parse({ sshPort: 70000 })).toThrow(/sshPort/);
    expect(() => parse({ sshHosts: ['a b'] })).toThrow(/not a host name/);
  });

  it('parses listen addresses', () => {
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(() => parseListen('8080')).toThrow(/sysnet config: "listen": "8080" is not IPv4:PORT/);
    expect(() => parseListen('host:99999')).toThrow(/port 99999 is above 65535/);
    expect(() => parseListen('sys-net.local:80')).toThrow(/not an IPv4 address or localhost/);
    expect(() => parseListen('a b:80')).toThrow();
    expect(() => parseListen(':80')).toThrow();
  });
});
