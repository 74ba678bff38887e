import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from '../../../src/protocol/note/note.js';
import {
  encodeTicket, openTicket, parseTicket, parseTicketTime, signTicket, type Ticket,
} from '../../../src/protocol/ticket/ticket.js';

const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);
const ticket: Ticket = {
  buildVm: 'build-fedora',
  logPath: 'build-fedora/log_2026-11-26_00-10-00',
  logSha256: H1,
  digests: [
    { form: 'binary', sha256: H2, label: 'qubes-core-4.2.1-1.fc41.x86_64.rpm' },
    { form: 'binary', sha256: H1, label: 'repomd.xml' },
    { form: 'text', sha256: H2, label: 'Release' },
    { form: 'clearsign', sha256: H1, label: 'InRelease' },
  ],
  issued: new Date('2026-11-26T00:10:05Z'),
  expires: new Date('2026-11-27T00:10:05Z'),
};
const BODY = [
  'qbuild-ticket v1',
  'vm build-fedora',
  'log build-fedora/log_2026-11-26_00-10-00',
  `log-sha256 ${H1}`,
  'issued 2026-11-26T00:10:05Z',
  'expires 2026-11-27T00:10:05Z',
  `sign sha256:${H2} qubes-core-4.2.1-1.fc41.x86_64.rpm`,
  `sign sha256:${H1} repomd.xml`,
  `sign text-sha256:${H2} Release`,
  `sign clearsign-sha256:${H1} InRelease`,
  '',
].join('\n');

describe('ticket', () => {
  it('encodes the documented body and parses it back', () => {
    expect(encodeTicket(ticket)).toBe(BODY);
    expect(parseTicket(BODY)).toEqual(ticket);
  });

  it('allows a ticket without digests', () => {
    const t = { ...ticket, digests: [] };
    expect(parseTicket(encodeTicket(t))).toEqual(t);
  });

  it('signs and opens as a signed note', () => {
    const k = generateNoteKey('logs/qbuild');
    const note = signTicket(ticket, parseSignerKey(k.signerKey));
    expect(note.startsWith(BODY)).toBe(true);
    expect(openTicket(note, [parseVerifierKey(k.verifierKey)])).toEqual(ticket);
    const other = generateNoteKey('logs/qbuild');
    expect(() => openTicket(note, [parseVerifierKey(other.verifierKey)])).toThrow();
  });

  const broken: [string, string][] = [
    ['no final newline', BODY.slice(0, -1)],
    ['wrong magic', BODY.replace('v1', 'v2')],
    ['unknown line', `${BODY}note hello\n`],
    ['empty line', `${BODY}\n`],
    ['missing field', BODY.replace(/log-sha256 .*\n/, '')],
    ['fields out of order', BODY.replace('vm build-fedora\nlog build-fedora/log_2026-11-26_00-10-00', 'log build-fedora/log_2026-11-26_00-10-00\nvm build-fedora')],
    ['upper-case hex', BODY.replace(`log-sha256 ${H1}`, `log-sha256 ${H1.toUpperCase()}`)],
    ['short hex', BODY.replace(`sign sha256:${H2}`, `sign sha256:${H2.slice(1)}`)],
    ['other digest algorithm', BODY.replace(`sign sha256:${H2}`, `sign sha512:${H2}`)],
    ['label with space', BODY.replace('repomd.xml', 'repo md.xml')],
    ['missing label', BODY.replace(' repomd.xml', '')],
    ['path escaping the store', BODY.replace('log build-fedora/', 'log ../')],
    ['absolute path', BODY.replace('log build-fedora/', 'log /build-fedora/')],
    ['bad vm', BODY.replace('vm build-fedora', 'vm 1build')],
    ['trailing space', BODY.replace('vm build-fedora', 'vm build-fedora ')],
    ['fractional seconds', BODY.replace('issued 2026-11-26T00:10:05Z', 'issued 2026-11-26T00:10:05.1Z')],
    ['time zone offset', BODY.replace('issued 2026-11-26T00:10:05Z', 'issued 2026-11-26T00:10:05+00:00')],
    ['impossible date', BODY.replace('issued 2026-11-26', 'issued 2026-02-30')],
    ['expires before issued', BODY.replace('expires 2026-11-27', 'expires 2026-11-25')],
    ['CR line ending', BODY.replace('\nvm', '\r\nvm')],
    ['unknown form', BODY.replace(`sign text-sha256:${H2}`, `sign binary-sha256:${H2}`)],
    ['form in upper case', BODY.replace(`sign text-sha256:${H2}`, `sign TEXT-sha256:${H2}`)],
    ['form without digest name', BODY.replace(`sign text-sha256:${H2}`, `sign text:${H2}`)],
    ['no colon', BODY.replace(`sign clearsign-sha256:${H1}`, `sign clearsign-sha256 ${H1}`)],
    ['empty form', BODY.replace(`sign sha256:${H2}`, `sign :${H2}`)],
  ];
  for (const [what, text] of broken) {
    it(`rejects: ${what}`, () => {
      expect(() => parseTicket(text)).toThrow(/ticket/);
    });
  }

  it('refuses to encode a digest of no known form', () => {
    const t = { ...ticket, digests: [{ form: 'raw' as 'binary', sha256: H1, label: 'x' }] };
    expect(() => encodeTicket(t)).toThrow(/digest form/);
  });

  it('parses only exact UTC times', () => {
    expect(parseTicketTime('2026-01-02T03:04:05Z').toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(() => parseTicketTime('2026-1-02T03:04:05Z')).toThrow();
  });
});
