import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CLOSE_MESSAGE, CUT_STOPPED, INCOMPLETE_PREFIX, TIME_LENGTH, markerLine, nowMicros } from '../../../protocol/buildlog/format.js';
import type { ManifestEntry } from '../../../protocol/buildlog/manifest.js';
import { StoredManifestReader } from '../../../protocol/buildlog/stored.js';
import { writeSpool, type SpoolRecord } from '../spool.js';

/** Why an abandoned log was closed, in its `> incomplete: ...` line. */
export const STOPPED_REASON = 'the logs service stopped before the stream ended';
const CLOSED_TAIL = Buffer.from(` +0000 > ${CLOSE_MESSAGE}\n`, 'latin1');
/** A torn last line is searched for this far back (lines are at most 16 MiB, settings.ts). */
const MAX_TAIL = 17 * 1024 * 1024;
const TIME_RE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/;

/**
 * Closes a log whose writer died (the BuildLog service or the whole VM crashed, or it stopped
 * on a disk error: `stopReason`), and hands it on as done. Rules for the end of the file:
 * - a last line holding received bytes (a full `<time> +0000 <vm>: ` prefix) is kept, and
 *   marked cut (CUT_STOPPED): nothing received is lost, and its piece grants nothing;
 * - a torn tail that holds only the logs VM's own bytes (a prefix or a marker cut short by a
 *   torn write) is removed and CUT_STOPPED written instead: recovery may then grant less
 *   than the live service would have, never more;
 * - then `> incomplete: ...` and `> closing log`, unless the file already ends with
 *   `> closing log` (a second run after a crash appends nothing).
 * The manifest is read back from the stored lines (StoredManifestReader), since the writer's
 * memory is gone: the same entries the live service would have collected.
 */
export async function closeAbandoned(state: string, store: string, rec: SpoolRecord, stopReason = ''): Promise<SpoolRecord> {
  const abs = join(store, ...rec.path.split('/'));
  const fd = openSync(abs, 'r+');
  const t = nowMicros();
  let size: number;
  try {
    size = fstatSync(fd).size;
    if (!endsWith(fd, size, CLOSED_TAIL)) {
      const tailStart = lastLineStart(fd, size);
      let text = '';
      if (tailStart < size) {
        if (holdsReceivedBytes(fd, tailStart, size, rec.vm)) {
          text += '\n';
        } else {
          ftruncateSync(fd, tailStart);
          size = tailStart;
        }
        text += markerLine(t, CUT_STOPPED);
      }
      text += markerLine(t, `${INCOMPLETE_PREFIX}${STOPPED_REASON}${stopReason ? `: ${stopReason}` : ''}`);
      text += markerLine(t, CLOSE_MESSAGE);
      const b = Buffer.from(text, 'latin1');
      for (let off = 0; off < b.length;) off += writeSync(fd, b, off, b.length - off, size + off);
      size += b.length;
      fsyncSync(fd);
    }
  } finally {
    closeSync(fd);
  }
  const manifest = await manifestFromLog(abs, rec.vm);
  const done: SpoolRecord = { ...rec, complete: false, endMicros: t, manifest, storedBytes: size };
  writeSpool(state, done, 'done');
  return done;
}

function endsWith(fd: number, size: number, tail: Buffer): boolean {
  if (size < tail.length) return false;
  const b = Buffer.alloc(tail.length);
  readSync(fd, b, 0, b.length, size - b.length);
  return b.equals(tail);
}

/** Where the file's last line starts: just after its last newline (size when it ends with one). */
function lastLineStart(fd: number, size: number): number {
  const block = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0 && size - end < MAX_TAIL) {
    const start = Math.max(0, end - block.length);
    const n = readSync(fd, block, 0, end - start, start);
    const nl = block.subarray(0, n).lastIndexOf(10);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return end;
}

/** The torn line starts with a whole `<time> +0000 <vm>: ` prefix: what follows was received. */
function holdsReceivedBytes(fd: number, start: number, size: number, vm: string): boolean {
  const want = ` +0000 ${vm}: `;
  const b = Buffer.alloc(Math.min(size - start, TIME_LENGTH + want.length));
  readSync(fd, b, 0, b.length, start);
  const s = b.toString('latin1');
  return s.length === TIME_LENGTH + want.length && TIME_RE.test(s.slice(0, TIME_LENGTH)) && s.slice(TIME_LENGTH) === want;
}

/** The `qbuild-sign` entries a stored log grants (StoredManifestReader); a torn last line grants nothing. */
export async function manifestFromLog(abs: string, vm: string): Promise<ManifestEntry[]> {
  const reader = new StoredManifestReader(vm);
  const fd = openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let carry = '';
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      const parts = (carry + buf.toString('latin1', 0, n)).split('\n');
      carry = parts.pop()!;
      for (const l of parts) reader.line(l);
      // Yield now and then: a 2 GiB log must not hold up the daemon's other work.
      if (pos % (16 << 20) === 0) await new Promise((r) => setImmediate(r));
    }
  } finally {
    closeSync(fd);
  }
  return reader.end();
}
