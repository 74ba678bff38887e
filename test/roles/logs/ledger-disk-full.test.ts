import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import type { LedgerEntry } from '../../../src/protocol/tlog/entry.js';
import { Ledger } from '../../../src/roles/logs/ledger/ledger.js';
import { canMount, fillDisk, mountTmpfs, unmount } from '../../helpers/disk.js';
import { tempDirs } from '../../helpers/tmp.js';

/**
 * The ledger's entries file on a small tmpfs that fills up (needs root to mount; skipped
 * without). A full disk may let an append write part of its record: that part must not stay.
 */
const tmp = tempDirs('qb-ledger-full-');
const mounted: string[] = [];
afterEach(() => { for (const m of mounted.splice(0)) unmount(m); });

const ORIGIN = 'qbuild.logs/logs';
const signer = parseSignerKey(generateNoteKey('qbuild-logs/logs').signerKey);
/** An entry of `n` digests (~110 bytes each), so a record spans pages. */
const entry = (i: number, n = 1): LedgerEntry => ({
  vm: 'build-fedora', path: `build-fedora/log_2026-11-26_00-00-${String(i).padStart(2, '0')}`, logSha256: 'a'.repeat(64),
  digests: Array.from({ length: n }, (_, k) => ({ form: 'binary' as const, sha256: 'b'.repeat(64), label: `f${i}-${k}.rpm` })),
  start: '2026-11-26T00:00:00.000Z', end: '2026-11-26T00:00:01.000Z',
});

describe.skipIf(!canMount)('ledger on a full disk (needs root to mount a tmpfs)', () => {
  it('an append the full disk cut short leaves no torn record: after space returns, appends and a restart continue the same tree', () => {
    const state = join(tmp(), 'state');
    mountTmpfs(state, '256k');
    mounted.push(state);
    const l = Ledger.open(state, ORIGIN, signer);
    l.append(entry(0));
    const first = l.checkpoint();
    const filler = fillDisk(state);
    // ~6.6 KB: the entries file's last page takes part of it, then ENOSPC.
    expect(() => l.append(entry(1, 60))).toThrow(/ENOSPC/);
    unlinkSync(filler);
    expect(l.append(entry(2)).index).toBe(1);
    const second = l.checkpoint();
    expect(second.checkpoint.size).toBe(2);

    const again = Ledger.open(state, ORIGIN, signer);
    expect(again.size).toBe(2);
    expect([0, 1].map((i) => again.entry(i).path)).toEqual([entry(0).path, entry(2).path]);
    expect(again.lastSigned()?.note).toBe(second.note);
    expect(again.append(entry(3)).index).toBe(2);
    expect(again.checkpoint().checkpoint.size).toBe(3);
    expect(first.checkpoint.size).toBe(1);
  });
});
