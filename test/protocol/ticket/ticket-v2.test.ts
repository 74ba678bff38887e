import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey, parseVerifierKey, signNote } from '../../../src/protocol/note/note.js';
import { openAnyTicket } from '../../../src/protocol/ticket/open.js';
import { signTicket } from '../../../src/protocol/ticket/ticket.js';
import { encodeTicketV2, formatLogTime, parseTicketV2, signTicketV2, type TicketV2 } from '../../../src/protocol/ticket/ticket-v2.js';
import { signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { formatHeldSize, parseHeldSize } from '../../../src/protocol/ticket/held-size.js';

const key = generateNoteKey('qbuild-logs/logs');
const signer = parseSignerKey(key.signerKey);
const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);
const CHECKPOINT = signCheckpoint({ origin: 'qbuild.logs/logs', size: 5, root: Buffer.alloc(32, 7), extensions: [] }, signer);
const CP64 = Buffer.from(CHECKPOINT).toString('base64');

const ticket: TicketV2 = {
  buildVm: 'build-fedora',
  logPath: 'build-fedora/log_2026-11-26_00-10-00',
  logSha256: H1,
  logStart: '2026-11-26T00:10:00.123Z',
  logEnd: '2026-11-26T00:10:04.000Z',
  issued: new Date('2026-11-26T00:10:05Z'),
  expires: new Date('2026-11-27T00:10:05Z'),
  leafIndex: 4,
  treeSize: 5,
  consistencyFrom: 3,
  checkpoint: CHECKPOINT,
  inclusion: [Buffer.from(H2, 'hex')],
  consistency: [Buffer.from(H1, 'hex'), Buffer.from(H2, 'hex')],
  digests: [
    { form: 'binary', sha256: H2, label: 'qubes-core-4.2.1-1.fc41.x86_64.rpm' },
    { form: 'clearsign', sha256: H1, label: 'InRelease' },
  ],
};
const LINES = [
  'qbuild-ticket v2',
  'vm build-fedora',
  'log build-fedora/log_2026-11-26_00-10-00',
  `log-sha256 ${H1}`,
  'log-start 2026-11-26T00:10:00.123Z',
  'log-end 2026-11-26T00:10:04.000Z',
  'issued 2026-11-26T00:10:05Z',
  'expires 2026-11-27T00:10:05Z',
  'leaf-index 4',
  'tree-size 5',
  'consistency-from 3',
  `checkpoint ${CP64}`,
  `inclusion ${H2}`,
  `consistency ${H1}`,
  `consistency ${H2}`,
  `sign sha256:${H2} qubes-core-4.2.1-1.fc41.x86_64.rpm`,
  `sign clearsign-sha256:${H1} InRelease`,
];
const BODY = `${LINES.join('\n')}\n`;
const edit = (i: number, line: string | null) => {
  const l = [...LINES];
  if (line === null) l.splice(i, 1); else l[i] = line;
  return `${l.join('\n')}\n`;
};

describe('ticket v2', () => {
  it('encodes the documented body and parses it back', () => {
    expect(encodeTicketV2(ticket)).toBe(BODY);
    expect(parseTicketV2(BODY)).toEqual(ticket);
  });

  it('formats log times with milliseconds, from microseconds', () => {
    expect(formatLogTime(Date.parse('2026-11-26T00:10:00.123Z') * 1000 + 456)).toBe('2026-11-26T00:10:00.123Z');
  });

  it.each([
    ['wrong magic', edit(0, 'qbuild-ticket v3'), /first line/],
    ['missing header field', edit(8, null), /expected "leaf-index/],
    ['header out of order', (() => { const l = [...LINES]; [l[9], l[10]] = [l[10]!, l[9]!]; return `${l.join('\n')}\n`; })(), /expected "tree-size/],
    ['leading zero', edit(8, 'leaf-index 04'), /leading zeros/],
    ['leaf outside the tree', edit(8, 'leaf-index 5'), /not inside a tree of size 5/],
    ['consistency from a larger tree', edit(10, 'consistency-from 6'), /larger than tree-size/],
    ['log time without milliseconds', edit(4, 'log-start 2026-11-26T00:10:00Z'), /want YYYY-MM-DDTHH:MM:SS\.sssZ/],
    ['log time not a date', edit(5, 'log-end 2026-02-30T00:10:04.000Z'), /bad log-end/],
    ['log end before start', edit(5, 'log-end 2026-11-26T00:09:00.000Z'), /log-end before log-start/],
    ['upper-case proof hash', edit(12, `inclusion ${H2.toUpperCase()}`), /64 lowercase hex/],
    ['short proof hash', edit(12, 'inclusion abcd'), /64 lowercase hex/],
    ['inclusion after consistency', (() => { const l = [...LINES]; [l[12], l[13]] = [l[13]!, l[12]!]; return `${l.join('\n')}\n`; })(), /in that order/],
    ['sign before proofs', (() => { const l = [...LINES]; l.splice(12, 0, l.pop()!); return `${l.join('\n')}\n`; })(), /in that order/],
    ['checkpoint not canonical base64', edit(11, `checkpoint ${CP64.replace(/=+$/, '')}`), /base64/],
    ['trailing space', edit(2, 'log build-fedora/log_2026-11-26_00-10-00 '), /exactly one value/],
    ['empty line', edit(13, ''), /expected "sign/],
  ])('refuses %s', (_what, body, why) => {
    expect(() => parseTicketV2(body)).toThrow(why);
  });

  it('refuses a body without its final newline', () => {
    expect(() => parseTicketV2(BODY.slice(0, -1))).toThrow(/newline/);
  });

  it('openAnyTicket verifies the note first, then parses by version (v1 kept)', () => {
    const v = [parseVerifierKey(key.verifierKey)];
    expect(openAnyTicket(signTicketV2(ticket, signer), v)).toEqual({ version: 2, ticket });
    const v1 = { buildVm: 'build-fedora', logPath: ticket.logPath, logSha256: H1, digests: ticket.digests, issued: ticket.issued, expires: ticket.expires };
    expect(openAnyTicket(signTicket(v1, signer), v)).toEqual({ version: 1, ticket: v1 });
    const other = parseSignerKey(generateNoteKey('qbuild-logs/logs').signerKey);
    expect(() => openAnyTicket(signTicketV2(ticket, other), v)).toThrow(/does not verify|no signature by a trusted key/);
    expect(() => openAnyTicket(signNote('qbuild-ticket v9\nvm build-fedora\n', signer), v)).toThrow(/first line must be "qbuild-ticket v2" or "qbuild-ticket v1"/);
  });

  it('reads the keys VM\'s checkpoint-size line: the last well-formed one, nothing else', () => {
    expect(parseHeldSize(formatHeldSize(12))).toBe(12);
    expect(parseHeldSize(`noise\n${formatHeldSize(3)}${formatHeldSize(7)}`)).toBe(7);
    for (const bad of ['', 'checkpoint-size 012\n', 'checkpoint-size -1\n', 'checkpoint-size 1 \n', 'checkpoint-size 99999999999999999\n']) {
      expect(parseHeldSize(bad)).toBeUndefined();
    }
  });
});
