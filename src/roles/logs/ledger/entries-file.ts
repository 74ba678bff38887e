import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { oneLine, QbuildError } from '../../../errors.js';
import { leafHash } from '../../../protocol/tlog/merkle.js';
import { crashPoint } from '../../../util/crash-point.js';
import { syncDir } from '../../../util/durable-file.js';

/**
 * The ledger's entries on disk (`<state>/ledger/entries`): an append-only file of records
 *
 *   uint32 big-endian length || entry bytes || leaf hash (32 bytes, SHA-256(0x00 || entry))
 *
 * Each append is one write followed by fsync, so after a crash at most the last record is
 * torn. The stored leaf hash makes a torn or zero-filled tail detectable (and saves hashing
 * every entry again at start).
 */

/** An entry larger than this is refused: a ticket's digests (10000 lines of ~100 bytes) fit. */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;
const HASH = 32;

export interface StoredEntry {
  bytes: Buffer;
  leafHash: Buffer;
}

/**
 * Reads every record. Rules: a record must be whole and its stored hash must be the leaf hash
 * of its bytes. The first record that breaks this ends the ledger if it can be the one append
 * a crash interrupted (what follows it fits in one record): the file is truncated there
 * (durably) and the rest is read as if never written. A bad record with more after it than
 * one record can hold is corruption, not a crash: refused, so no tree is built on it. So is a
 * bad record among the first `keep` (the entries a signed checkpoint covers were whole when it
 * was signed): they are never cut off.
 */
export function readEntries(file: string, keep = 0): StoredEntry[] {
  let fd: number;
  try {
    fd = openSync(file, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new QbuildError('io', `cannot open the ledger ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const size = fstatSync(fd).size;
    const all = Buffer.alloc(size);
    for (let off = 0; off < size;) {
      const n = readSync(fd, all, off, size - off, off);
      if (n <= 0) break;
      off += n;
    }
    const out: StoredEntry[] = [];
    let pos = 0;
    while (pos < size) {
      const rec = recordAt(all, pos);
      if (!rec) {
        if (out.length < keep) throw new QbuildError('io', `ledger ${file} is corrupt at byte ${pos} (record ${out.length}), which the last signed checkpoint (size ${keep}) covers: refusing to continue it`);
        if (size - pos > 4 + MAX_ENTRY_BYTES + HASH) throw new QbuildError('io', `ledger ${file} is corrupt at byte ${pos} (record ${out.length}): refusing to continue it`);
        ftruncateSync(fd, pos);
        fsyncSync(fd);
        break;
      }
      out.push(rec.entry);
      pos = rec.next;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function recordAt(all: Buffer, pos: number): { entry: StoredEntry; next: number } | undefined {
  if (all.length - pos < 4) return undefined;
  const len = all.readUInt32BE(pos);
  if (len === 0 || len > MAX_ENTRY_BYTES || all.length - pos < 4 + len + HASH) return undefined;
  const bytes = Buffer.from(all.subarray(pos + 4, pos + 4 + len));
  const stored = Buffer.from(all.subarray(pos + 4 + len, pos + 4 + len + HASH));
  if (!leafHash(bytes).equals(stored)) return undefined;
  return { entry: { bytes, leafHash: stored }, next: pos + 4 + len + HASH };
}

/**
 * Appends one record and makes it durable before returning (fsync of the file, and of the
 * directory on first creation). Rule: an append that fails (a full disk takes part of the
 * record, then ENOSPC) cuts the file back to where it was, so no torn record stays before the
 * next one: read back, it would end the ledger there and lose every entry after it.
 */
export function appendEntry(file: string, bytes: Uint8Array): StoredEntry {
  if (bytes.length === 0 || bytes.length > MAX_ENTRY_BYTES) throw new QbuildError('bad-input', `ledger entry must be 1..${MAX_ENTRY_BYTES} bytes`);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const h = leafHash(bytes);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length, 0);
  const rec = Buffer.concat([len, bytes, h]);
  const fd = openSync(file, 'a', 0o600);
  let fresh = false;
  try {
    const before = fstatSync(fd).size;
    fresh = before === 0;
    try {
      crashPoint('ledger-mid-append', () => { writeSync(fd, rec, 0, rec.length >> 1); fsyncSync(fd); });
      for (let off = 0; off < rec.length;) off += writeSync(fd, rec, off, rec.length - off);
      fsyncSync(fd);
    } catch (e) {
      try {
        ftruncateSync(fd, before);
        fsyncSync(fd);
      } catch (t) {
        throw new QbuildError('io', `ledger ${file}: append failed (${(e as NodeJS.ErrnoException).code ?? oneLine(e)}) and its part could not be cut off (${oneLine(t)}): restart the daemon`);
      }
      throw e;
    }
  } finally {
    closeSync(fd);
  }
  if (fresh) syncDir(dirname(file));
  return { bytes: Buffer.from(bytes), leafHash: h };
}
