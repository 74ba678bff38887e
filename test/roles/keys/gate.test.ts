import { describe, expect, it } from 'vitest';
import { checkGate } from '../../../src/roles/keys/gate.js';
import { TicketStore } from '../../../src/roles/keys/ticket-store.js';
import type { KeysConfig } from '../../../src/roles/keys/keys-config.js';
import { tempDirs } from '../../helpers/tmp.js';
import { formDigest, type SignForm } from '../../../src/protocol/signform.js';

const tmp = tempDirs('qb-gate-');
const store = () => new TicketStore(tmp());
const config = (gate: 'ticket' | 'window' = 'ticket'): KeysConfig => ({
  vm: 'keys-fedora', buildVm: 'build-fedora', logsVm: 'logs', gate, logsPublicKey: null, windowSeconds: 300, defaultKey: undefined, idleSeconds: 30, maxConcurrentGpg: 8,
});
const ticket = (vm: string, digests: Buffer[], expires: Date, form: SignForm = 'binary') => ({
  buildVm: vm, logPath: `${vm}/log_2026-11-26_00-00-00`, logSha256: 'a'.repeat(64),
  issued: new Date(Date.now() - 1000), expires, digests: digests.map((d, i) => ({ form, sha256: formDigest(form, d), label: `file${i}` })),
});

describe('gate: ticket', () => {
  const bytes = Buffer.from('header blob');
  const later = new Date(Date.now() + 3600_000);

  it('signs only listed bytes for the ticket VM', () => {
    const s = store();
    s.save(Buffer.from('note'), ticket('build-fedora', [bytes], later));
    expect(checkGate(config(), s, 'build-fedora', 'binary', bytes).ok).toBe(true);
    const other = checkGate(config(), s, 'build-fedora', 'binary', Buffer.from('other'));
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.reason).toMatch(/no ticket for sha256:/);
  });

  it('refuses another caller, even with a ticket naming it', () => {
    const s = store();
    s.save(Buffer.from('note'), ticket('build-debian', [bytes], later));
    const r = checkGate(config(), s, 'build-debian', 'binary', bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/not the build VM/);
  });

  it('refuses an expired grant, and a later ticket extends, an older one never shortens', () => {
    const s = store();
    s.save(Buffer.from('n1'), ticket('build-fedora', [bytes], new Date(Date.now() + 1000)));
    const at = Date.now() + 5000;
    const r = checkGate(config(), s, 'build-fedora', 'binary', bytes, at);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/expired/);
    s.save(Buffer.from('n2'), ticket('build-fedora', [bytes], later));
    s.save(Buffer.from('n3'), ticket('build-fedora', [bytes], new Date(Date.now() + 2000)));
    expect(checkGate(config(), s, 'build-fedora', 'binary', bytes, at).ok).toBe(true);
  });

  it('does not open a window in ticket mode', () => {
    const s = store();
    s.openWindow('build-fedora');
    expect(checkGate(config('ticket'), s, 'build-fedora', 'binary', bytes).ok).toBe(false);
  });
});

describe('gate: window (explicit opt-in)', () => {
  it('allows any bytes within the window after an empty LogReceived, then closes', () => {
    const s = store();
    const c = config('window');
    expect(checkGate(c, s, 'build-fedora', 'binary', Buffer.from('x')).ok).toBe(false);
    s.openWindow('build-fedora');
    expect(checkGate(c, s, 'build-fedora', 'binary', Buffer.from('x')).ok).toBe(true);
    expect(checkGate(c, s, 'build-fedora', 'binary', Buffer.from('x'), Date.now() + 301_000).ok).toBe(false);
    expect(checkGate(c, s, 'build-debian', 'binary', Buffer.from('x')).ok).toBe(false);
  });
});

describe('gate: forms (a ticket names what the signature binds)', () => {
  const later = new Date(Date.now() + 3600_000);
  const d = Buffer.from('Origin: qbuild\nSuite: stable\n');
  const crlf = Buffer.from('Origin: qbuild\r\nSuite: stable\r\n');

  it('a binary ticket grants no text or clearsign signature of the same bytes', () => {
    const s = store();
    s.save(Buffer.from('n'), ticket('build-fedora', [d], later));
    expect(checkGate(config(), s, 'build-fedora', 'binary', d).ok).toBe(true);
    for (const form of ['text', 'clearsign'] as const) {
      const r = checkGate(config(), s, 'build-fedora', form, d);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(new RegExp(`no ticket for ${form}-sha256:`));
    }
  });

  it('a text ticket grants text signatures of every input with that canonical text, and nothing binary', () => {
    const s = store();
    s.save(Buffer.from('n'), ticket('build-fedora', [d], later, 'text'));
    expect(checkGate(config(), s, 'build-fedora', 'text', d).ok).toBe(true);
    expect(checkGate(config(), s, 'build-fedora', 'text', crlf).ok).toBe(true);
    expect(checkGate(config(), s, 'build-fedora', 'text', Buffer.from('Origin: qbuild \nSuite: stable\n')).ok).toBe(false);
    expect(checkGate(config(), s, 'build-fedora', 'binary', d).ok).toBe(false);
    expect(checkGate(config(), s, 'build-fedora', 'clearsign', d).ok).toBe(false);
  });

  it('refuses text a form cannot bind (a line GnuPG would truncate)', () => {
    const s = store();
    const r = checkGate(config(), s, 'build-fedora', 'text', Buffer.from(`${'x'.repeat(30000)}\n`));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/longer than/);
  });

  it('reads a grant written before forms existed as binary', () => {
    const s = store();
    s.save(Buffer.from('n'), ticket('build-fedora', [d], later));
    const g = s.grant('build-fedora', 'binary', formDigest('binary', d));
    expect(g?.form).toBe('binary');
  });
});
