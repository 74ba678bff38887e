import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QubesTransport } from '../../../src/protocol/qrexec/transport-qubes.js';
import { defaultTransport } from '../../../src/protocol/qrexec/client.js';
import { SimTransport } from '../../../src/protocol/qrexec/transport-sim.js';

// There is no Qubes here: a stand-in `qrexec-client-vm` shows the exact argv the real one
// would get, and plays the callee (echo stdin, exit with a chosen code).
const dir = mkdtempSync(join(tmpdir(), 'qbqt-'));
const fake = join(dir, 'qrexec-client-vm');
writeFileSync(fake, '#!/bin/sh\necho "argv: $*"\ncat\nexit 7\n', { mode: 0o755 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(s: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

describe('qubes transport', () => {
  it('runs qrexec-client-vm TARGET SERVICE+ARG with stdio piped and returns its exit code', async () => {
    const call = new QubesTransport(fake).call({ target: 'dom0', service: 'qubesbuilder.LogReceived', argument: 'build-fedora' });
    call.stdin.end('ticket bytes\n');
    const [out, code] = await Promise.all([collect(call.stdout), call.exit]);
    expect(out).toBe('argv: dom0 qubesbuilder.LogReceived+build-fedora\nticket bytes\n');
    expect(code).toBe(7);
  });

  it('reports 125 when qrexec-client-vm cannot be started', async () => {
    const call = new QubesTransport(join(dir, 'absent')).call({ target: 'keys-x', service: 'qubes.Gpg' });
    expect(await call.exit).toBe(125);
  });

  it('rejects an invalid target before spawning anything', () => {
    expect(() => new QubesTransport(fake).call({ target: '../x', service: 'qubes.Gpg' })).toThrow(/invalid VM name/);
  });

  it('is chosen unless QBUILD_SIM selects the simulator', () => {
    expect(defaultTransport({})).toBeInstanceOf(QubesTransport);
    expect(defaultTransport({ QBUILD_SIM: dir, QBUILD_SIM_VM: 'build-x' })).toBeInstanceOf(SimTransport);
    expect(() => defaultTransport({ QBUILD_SIM: dir })).toThrow(/QBUILD_SIM_VM/);
  });
});
