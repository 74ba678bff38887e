import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createDeflate } from 'node:zlib';

export interface WrittenBlob {
  /** Git object id (SHA-1 of `blob <size>\0` + content). */
  oid: string;
  /** SHA-256 of the file's bytes: what the ticket names. */
  sha256: string;
  size: number;
}

/**
 * Writes a file into a git object store as a loose blob, streaming: one read pass computes
 * the git oid, the file's SHA-256 and the zlib stream together, so a 1 GiB log costs no more
 * memory than a small one (isomorphic-git's add would read the whole file into memory).
 */
export async function writeBlobFromFile(gitdir: string, file: string): Promise<WrittenBlob> {
  const size = statSync(file).size;
  const sha1 = createHash('sha1');
  const sha256 = createHash('sha256');
  const header = Buffer.from(`blob ${size}\0`, 'latin1');
  sha1.update(header);
  const tmpDir = join(gitdir, 'objects');
  mkdirSync(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `.tmp-blob-${process.pid}-${Date.now()}`);
  let seen = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      // The file is closed when we publish it; stop at the size we hashed into the header.
      const part = seen + chunk.length > size ? chunk.subarray(0, size - seen) : chunk;
      seen += part.length;
      sha1.update(part);
      sha256.update(part);
      cb(null, part);
    },
  });
  const deflate = createDeflate();
  deflate.write(header);
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20, end: size > 0 ? size - 1 : 0, start: 0 }), tap, deflate, createWriteStream(tmp, { mode: 0o444 }));
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* not created */ }
    throw e;
  }
  if (seen !== size) {
    unlinkSync(tmp);
    throw new Error(`log ${file} changed size while publishing`);
  }
  const oid = sha1.digest('hex');
  const dir = join(gitdir, 'objects', oid.slice(0, 2));
  mkdirSync(dir, { recursive: true });
  const dest = join(dir, oid.slice(2));
  if (existsSync(dest)) unlinkSync(tmp);
  else renameSync(tmp, dest);
  return { oid, sha256: sha256.digest('hex'), size };
}
