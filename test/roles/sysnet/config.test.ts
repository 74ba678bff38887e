import { describe, expect, it } from 'vitest';
import { SYSNET_DEFAULTS } from '../../../src/protocol/plan/sysnet-section.js';
import { parseSysnetConfig } from '../../../src/roles/sysnet/config.js';

const parse = (sysnet: Record<string, unknown>) => parseSysnetConfig({ vm: 'sys-net', role: 'sysnet', sysnet }, { QBUILD_STATE: '/st' }, '/q/qbuild.json');
const parseListen = (listen: unknown) => parse({ listen }).listen;

describe('sysnet config', () => {
  it('reads what provision writes and fills in defaults', () => {
    const c = parse({ buildVms: ['build-fedora'], listen: '0.0.0.0:80', secretFile: '/rw/config/qbuild/webhook-secret', sshHosts: ['github.com'] });
    expect(c).toMatchObject({ buildVms: ['build-fedora'], listen: { host: '0.0.0.0', port: 80 }, sshHosts: ['github.com'], sshPort: 22, queueMax: SYSNET_DEFAULTS.queueMax });
    expect(parse({}).secretFile).toBe('/st/webhook-secret');
    expect(parse({}).listen).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('rejects unknown keys, bad VM names, bad numbers and duplicates', () => {
    expect(() => parse({ bildVms: [] })).toThrow('/q/qbuild.json: sysnet.bildVms: unknown key; did you mean "buildVms"?');
    expect(() => parse({ buildVms: ['dom0 '] })).toThrow(/^\/q\/qbuild.json: sysnet.buildVms\[0\]: .*VM name/);
    expect(() => parse({ buildVms: ['a', 'a'] })).toThrow('/q/qbuild.json: sysnet.buildVms: lists "a" twice');
    expect(() => parse({ queueMax: 0 })).toThrow('/q/qbuild.json: sysnet.queueMax: must be a whole number, at least 1');
    expect(() => parse({ sshPort: 70000 })).toThrow('/q/qbuild.json: sysnet.sshPort: must be a port from 1 to 65535');
    expect(() => parse({ sshHosts: ['a b'] })).toThrow('/q/qbuild.json: sysnet.sshHosts[0]: "a b" is not a host name');
    expect(() => parse({ secretFile: 'webhook-secret' })).toThrow('/q/qbuild.json: sysnet.secretFile: "webhook-secret" must be an absolute path');
    expect(() => parse({ retryBaseMs: 1.5 })).toThrow('/q/qbuild.json: sysnet.retryBaseMs: must be a whole number of milliseconds, at least 1');
  });

  it('parses listen addresses', () => {
    expect(parseListen('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(() => parseListen('8080')).toThrow('/q/qbuild.json: sysnet.listen: "8080" is not IPv4:PORT');
    expect(() => parseListen('host:99999')).toThrow(/port 99999 is above 65535/);
    expect(() => parseListen('sys-net.local:80')).toThrow(/not an IPv4 address or localhost/);
    expect(() => parseListen('a b:80')).toThrow();
    expect(() => parseListen(':80')).toThrow();
  });
});
