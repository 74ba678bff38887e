import { closeSync, createReadStream, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLOSE_MESSAGE, INCOMPLETE_PREFIX, TIME_LENGTH, markerLine, nowMicros } from '../../../protocol/buildlog/format.js';
import { MANIFEST_PREFIX, Manifest, parseManifestLine, type ManifestEntry } from '../../../protocol/buildlog/manifest.js';
import { writeSpool, type SpoolRecord } from '../spool.js';

/**
 * Closes a log whose writer died (the BuildLog service or the whole VM crashed): completes a
 * torn last line, appends `> incomplete: ...` and `> closing log`, and hands it on as done.
 * The manifest is read back from the stored lines, since the writer's memory is gone.
 */
export async function closeAbandoned(state: string, store: string, rec: SpoolRecord): Promise<SpoolRecord> {
  const abs = join(store, ...rec.path.split('/'));
  const fd = openSync(abs, 'r+');
  try {
    const size = fstatSync(fd).size;
    let text = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 10) text += '\n';
    }
    const t = nowMicros();
    text += markerLine(t, `${INCOMPLETE_PREFIX}the logs service stopped before the stream ended`);
    text += markerLine(t, CLOSE_MESSAGE);
    writeSync(fd, text, size);
    fsyncSync(fd);
    const manifest = await manifestFromLog(abs, rec.vm);
    const done: SpoolRecord = { ...rec, complete: false, endMicros: t, manifest, storedBytes: size + Buffer.byteLength(text) };
    writeSpool(state, done, 'done');
    return done;
  } finally {
    closeSync(fd);
  }
}

/** The `qbuild-sign` entries among a stored log's lines from `vm`. */
export async function manifestFromLog(abs: string, vm: string): Promise<ManifestEntry[]> {
  const prefix = ` +0000 ${vm}: ${MANIFEST_PREFIX}`;
  const out = new Manifest();
  const rl = createInterface({ input: createReadStream(abs, { encoding: 'latin1' }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.startsWith(prefix, TIME_LENGTH)) {
      const e = parseManifestLine(line.slice(TIME_LENGTH + prefix.length - MANIFEST_PREFIX.length));
      if (e) out.add(e);
    }
  }
  return out.entries;
}
