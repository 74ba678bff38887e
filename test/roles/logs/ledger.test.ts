import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { encodeEntry, type LedgerEntry } from '../../../src/protocol/tlog/entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../../src/protocol/tlog/merkle.js';
import { appendEntry, readEntries } from '../../../src/roles/logs/ledger/entries-file.js';
import { Ledger } from '../../../src/roles/logs/ledger/ledger.js';
import { committedSize, ledgerFiles } from '../../../src/roles/logs/ledger/public-files.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-ledger-');
const ORIGIN = 'qbuild.logs/logs';
const signer = parseSignerKey(generateNoteKey('qbuild-logs/logs').signerKey);
const entry = (i: number): LedgerEntry => ({
  vm: 'build-fedora', path: `build-fedora/log_2026-11-26_00-00-${String(i).padStart(2, '0')}`, logSha256: 'a'.repeat(64),
  digests: [{ form: 'binary', sha256: 'b'.repeat(64), label: `f${i}.rpm` }], start: '2026-11-26T00:00:00.000Z', end: '2026-11-26T00:00:01.000Z',
});

describe('ledger entries file', () => {
  it('reads back what was appended; a torn last record is cut off (durably), the rest kept', () => {
    const file = join(tmp(), 'entries');
    for (let i = 0; i < 3; i++) appendEntry(file, encodeEntry(entry(i)));
    const whole = readFileSync(file);
    for (const cut of [1, 4, 30, whole.length - readEntries(file)[2]!.bytes.length]) {
      writeFileSync(file, whole);
      appendFileSync(file, Buffer.concat([Buffer.from([0, 0, 1, 0]), encodeEntry(entry(3))]).subarray(0, cut));
      expect(readEntries(file).map((e) => e.bytes.toString())).toEqual([0, 1, 2].map((i) => encodeEntry(entry(i)).toString()));
      expect(readFileSync(file).equals(whole)).toBe(true);
    }
    // A zero-filled tail (a crash that extended the file but not its data) is torn too.
    writeFileSync(file, Buffer.concat([whole, Buffer.alloc(100)]));
    expect(readEntries(file)).toHaveLength(3);
  });

  it('refuses a file corrupt before its end (a changed byte inside an earlier record)', () => {
    const file = join(tmp(), 'entries');
    for (let i = 0; i < 3; i++) appendEntry(file, encodeEntry(entry(i)));
    const b = readFileSync(file);
    b[10] ^= 1;
    writeFileSync(file, Buffer.concat([b, Buffer.alloc(5 * 1024 * 1024, 0x41)]));
    expect(() => readEntries(file)).toThrow(/is corrupt at byte 0 \(record 0\): refusing to continue it/);
  });
});

describe('Ledger', () => {
  it('appends once per log path, and a reopened ledger continues the same tree', () => {
    const state = tmp();
    const l = Ledger.open(state, ORIGIN, signer);
    expect(l.append(entry(0))).toEqual({ index: 0, created: true });
    expect(l.append(entry(1))).toEqual({ index: 1, created: true });
    expect(l.append(entry(0))).toEqual({ index: 0, created: false });
    const c2 = l.checkpoint();
    expect(c2.checkpoint.size).toBe(2);
    expect(l.checkpoint()).toBe(c2);
    const again = Ledger.open(state, ORIGIN, signer);
    expect(again.size).toBe(2);
    expect(again.lastSigned()?.note).toBe(c2.note);
    expect(again.append(entry(2)).index).toBe(2);
    const c3 = again.checkpoint();
    expect(verifyConsistency(2, 3, c2.checkpoint.root, c3.checkpoint.root, again.merkle.consistencyProof(2, 3))).toBe(true);
    expect(verifyInclusion(1, 3, leafHash(encodeEntry(entry(1))), again.merkle.inclusionProof(1, 3), c3.checkpoint.root)).toBe(true);
  });

  it('never signs a checkpoint that does not extend the last signed one: a changed or lost entry is refused loudly', () => {
    const state = tmp();
    const l = Ledger.open(state, ORIGIN, signer);
    for (let i = 0; i < 3; i++) l.append(entry(i));
    const signed = l.checkpoint();
    const file = join(state, 'ledger', 'entries');
    const records = readEntries(file);
    // Entries rewritten with a different first entry: a fork of the signed tree.
    writeFileSync(file, '');
    appendEntry(file, encodeEntry({ ...entry(0), logSha256: 'c'.repeat(64) }));
    for (const r of records.slice(1)) appendEntry(file, r.bytes);
    const forked = Ledger.open(state, ORIGIN, signer);
    forked.append(entry(3));
    expect(() => forked.checkpoint()).toThrow(/REFUSING to sign a checkpoint of size 4: it does not extend the last signed checkpoint \(size 3\)/);
    expect(readFileSync(join(state, 'ledger', 'checkpoint'), 'utf8')).toBe(signed.note);
    // Entries lost (a smaller tree than the one signed).
    writeFileSync(file, '');
    appendEntry(file, records[0]!.bytes);
    expect(() => Ledger.open(state, ORIGIN, signer).checkpoint()).toThrow(/REFUSING to sign a checkpoint of size 1/);
  });

  it('never cuts off an entry the signed checkpoint covers: a damaged last record then is corruption, not a torn append', () => {
    const state = tmp();
    const l = Ledger.open(state, ORIGIN, signer);
    for (let i = 0; i < 3; i++) l.append(entry(i));
    l.checkpoint();
    const file = join(state, 'ledger', 'entries');
    const b = readFileSync(file);
    b[b.length - 40] ^= 1;
    writeFileSync(file, b);
    expect(() => Ledger.open(state, ORIGIN, signer)).toThrow(/ledger .* is corrupt at byte \d+ \(record 2\), which the last signed checkpoint \(size 3\) covers: refusing to continue it/);
    expect(readFileSync(file).equals(b)).toBe(true);
  });

  it('refuses to start on a stored checkpoint another key signed', () => {
    const state = tmp();
    Ledger.open(state, ORIGIN, signer).append(entry(0));
    Ledger.open(state, ORIGIN, parseSignerKey(generateNoteKey('qbuild-logs/logs').signerKey)).checkpoint();
    expect(() => Ledger.open(state, ORIGIN, signer)).toThrow(/is not a checkpoint of qbuild.logs\/logs signed by this logs VM/);
  });

  it('public files: checkpoint, hash tiles and entry bundles of the growth; full tiles replace their partial ones', () => {
    const state = tmp();
    const l = Ledger.open(state, ORIGIN, signer);
    l.append(entry(0));
    const one = ledgerFiles(l, join(state, 'store'), 0, l.checkpoint().note);
    expect(one.files.map((f) => f.path)).toEqual(['checkpoint', 'tile/0/000.p/1', 'tile/entries/000.p/1']);
    expect(committedSize(l, one.files[0]!.bytes)).toBe(1);
    expect(committedSize(l, Buffer.from('not a note'))).toBe(0);
    // Grown to a full tile: the partial tiles in the store are listed for removal.
    const store = join(state, 'store');
    for (const p of ['tile/0/000.p/255', 'tile/entries/000.p/255']) {
      mkdirSync(join(store, dirname(p)), { recursive: true });
      writeFileSync(join(store, p), '');
    }
    for (let i = 1; i < 256; i++) l.append(entry(i));
    const full = ledgerFiles(l, store, 255, l.checkpoint().note);
    expect(full.files.map((f) => f.path)).toEqual(['checkpoint', 'tile/0/000', 'tile/1/000.p/1', 'tile/entries/000']);
    expect(full.remove.sort()).toEqual(['tile/0/000.p/255', 'tile/entries/000.p/255']);
  });
});
