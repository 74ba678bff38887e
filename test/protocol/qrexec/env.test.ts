import { describe, expect, it } from 'vitest';
import { serviceContextFromEnv } from '../../../src/protocol/qrexec/env.js';

describe('service context from the qrexec environment', () => {
  it('reads caller, argument and requested target', () => {
    const ctx = serviceContextFromEnv('qubesbuilder.LogReceived', {
      QREXEC_REMOTE_DOMAIN: 'logs',
      QREXEC_SERVICE_FULL_NAME: 'qubesbuilder.LogReceived+build-fedora',
      QREXEC_SERVICE_ARGUMENT: 'build-fedora',
      QREXEC_REQUESTED_TARGET: 'dom0',
    });
    expect(ctx).toEqual({ remoteDomain: 'logs', service: 'qubesbuilder.LogReceived', argument: 'build-fedora', requestedTarget: 'dom0' });
  });

  it('refuses to run without a caller, or with an environment that contradicts itself', () => {
    expect(() => serviceContextFromEnv('qubes.Gpg', {})).toThrow(/QREXEC_REMOTE_DOMAIN/);
    expect(() => serviceContextFromEnv('qubes.Gpg', { QREXEC_REMOTE_DOMAIN: 'a b' })).toThrow(/invalid VM name/);
    expect(() => serviceContextFromEnv('qubes.Gpg', { QREXEC_REMOTE_DOMAIN: 'x', QREXEC_SERVICE_FULL_NAME: 'qubes.Other' })).toThrow(/does not name/);
    expect(() => serviceContextFromEnv('a.B', {
      QREXEC_REMOTE_DOMAIN: 'x', QREXEC_SERVICE_FULL_NAME: 'a.B+one', QREXEC_SERVICE_ARGUMENT: 'two',
    })).toThrow(/disagrees/);
    expect(() => serviceContextFromEnv('a.B', { QREXEC_REMOTE_DOMAIN: 'x', QREXEC_SERVICE_ARGUMENT: '../x' })).toThrow(/invalid service argument/);
  });
});
