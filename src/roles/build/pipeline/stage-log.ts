import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatManifestLine } from '../../../protocol/buildlog/manifest.js';
import type { BuildLogStream } from '../log-stream.js';

/**
 * A stage's BuildLog stream that also keeps the build VM's own copy (what `qbuild build
 * --follow` tails). The logs VM's copy is the evidence; this one is a convenience, so a
 * failing local write never fails the stage.
 */
export function teeLog(remote: BuildLogStream, localPath: string): BuildLogStream {
  let fd: number | undefined;
  try {
    mkdirSync(dirname(localPath), { recursive: true, mode: 0o700 });
    fd = openSync(localPath, 'a', 0o600);
  } catch {
    fd = undefined;
  }
  const local = (b: string | Buffer) => {
    if (fd === undefined) return;
    try { writeSync(fd, typeof b === 'string' ? Buffer.from(b) : b); } catch { /* convenience copy only */ }
  };
  return {
    write: (data) => { local(data); return remote.write(data); },
    manifest: (sha256, label, form) => {
      local(`${formatManifestLine({ sha256, label, form: form ?? 'binary' })}\n`);
      remote.manifest(sha256, label, form);
    },
    finish: async () => {
      try {
        return await remote.finish();
      } finally {
        if (fd !== undefined) closeSync(fd);
        fd = undefined;
      }
    },
  };
}
