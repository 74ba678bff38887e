import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { entryTicketFields, ticketEntry } from '../../../src/protocol/ticket/ticket-entry.js';
import { parseTicketV2, encodeTicketV2, type TicketV2 } from '../../../src/protocol/ticket/ticket-v2.js';
import { encodeEntry, type LedgerEntry } from '../../../src/protocol/tlog/entry.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const digests: LedgerEntry['digests'] = [
  { form: 'text', sha256: sha('Release'), label: 'Release' }, { form: 'clearsign', sha256: sha('InRelease'), label: 'InRelease' },
];
const entry: LedgerEntry = {
  vm: 'build-debian', path: 'build-debian/log_2026-12-01_08-00-00', logSha256: sha('the log'), digests,
  start: '2026-12-01T08:00:00.000Z', end: '2026-12-01T08:03:10.500Z',
};

describe('ticket entry', () => {
  it('fills a v2 ticket from a ledger entry so the ticket stands for the same entry bytes', () => {
    const ticket: TicketV2 = {
      ...entryTicketFields(entry),
      issued: new Date('2026-11-26T00:10:05Z'),
      expires: new Date('2026-11-27T00:10:05Z'),
      leafIndex: 0,
      treeSize: 1,
      consistencyFrom: 0,
      checkpoint: 'qbuild.logs/logs\n1\nAAAA\n',
      inclusion: [],
      consistency: [],
    };
    expect(ticket).toMatchObject({ buildVm: entry.vm, logPath: entry.path, logStart: entry.start, logEnd: entry.end });
    const back = ticketEntry(parseTicketV2(encodeTicketV2(ticket)));
    expect(back).toEqual(entry);
    expect(encodeEntry(back).equals(encodeEntry(entry))).toBe(true);
  });

  it('copies the digests rather than sharing them', () => {
    const fields = entryTicketFields(entry);
    expect(fields.digests).toEqual(entry.digests);
    expect(fields.digests[0]).not.toBe(entry.digests[0]);
  });
});
