import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkGate } from '../../../src/roles/keys/gate.js';
import { TicketStore } from '../../../src/roles/keys/ticket-store.js';
import type { KeysConfig } from '../../../src/roles/keys/keys-config.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-gate-');
const store = () => new TicketStore(tmp());
const config = (gate: 'ticket' | 'window' = 'ticket'): KeysConfig => ({
  vm: 'keys-fedora', buildVm: 'build-fedora', logsVm: 'logs', gate, logsPublicKey: null, windowSeconds: 300, defaultKey: undefined,
});
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ticket = (vm: string, digests: Buffer[], expires: Date) => ({
  buildVm: vm, logPath: `${vm}/log_2026-11-26_00-00-00`, logSha256: 'a'.repeat(64),
  issued: new Date(Date.now() - 1000), expires, digests: digests.map((d, i) => ({ sha256: sha(d), label: `file${i}` })),
});

describe('gate: ticket', () => {
  const bytes = Buffer.from('header blob');
  const later = new Date(Date.now() + 3600_000);

  it('signs only listed bytes for the ticket VM', () => {
    const s = store();
    s.save(Buffer.from('note'), ticket('build-fedora', [bytes], later));
    expect(checkGate(config(), s, 'build-fedora', bytes).ok).toBe(true);
    const other = checkGate(config(), s, 'build-fedora', Buffer.from('other'));
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.reason).toMatch(/no ticket for sha256:/);
  });

  it('refuses another caller, even with a ticket naming it', () => {
    const s = store();
    s.save(Buffer.from('note'), ticket('build-debian', [bytes], later));
    const r = checkGate(config(), s, 'build-debian', bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/not the build VM/);
  });

  it('refuses an expired grant, and a later ticket extends, an older one never shortens', () => {
    const s = store();
    s.save(Buffer.from('n1'), ticket('build-fedora', [bytes], new Date(Date.now() + 1000)));
    const at = Date.now() + 5000;
    const r = checkGate(config(), s, 'build-fedora', bytes, at);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/expired/);
    s.save(Buffer.from('n2'), ticket('build-fedora', [bytes], later));
    s.save(Buffer.from('n3'), ticket('build-fedora', [bytes], new Date(Date.now() + 2000)));
    expect(checkGate(config(), s, 'build-fedora', bytes, at).ok).toBe(true);
  });

  it('does not open a window in ticket mode', () => {
    const s = store();
    s.openWindow('build-fedora');
    expect(checkGate(config('ticket'), s, 'build-fedora', bytes).ok).toBe(false);
  });
});

describe('gate: window (explicit opt-in)', () => {
  it('allows any bytes within the window after an empty LogReceived, then closes', () => {
    const s = store();
    const c = config('window');
    expect(checkGate(c, s, 'build-fedora', Buffer.from('x')).ok).toBe(false);
    s.openWindow('build-fedora');
    expect(checkGate(c, s, 'build-fedora', Buffer.from('x')).ok).toBe(true);
    expect(checkGate(c, s, 'build-fedora', Buffer.from('x'), Date.now() + 301_000).ok).toBe(false);
    expect(checkGate(c, s, 'build-debian', Buffer.from('x')).ok).toBe(false);
  });
});
