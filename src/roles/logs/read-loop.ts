import { read } from 'node:fs';

/** How long to wait before reading a non-blocking descriptor again after EAGAIN. */
const RETRY_MS = 1;

/**
 * Reads descriptor `fd` to its end in reads of `size` bytes into two buffers used in turn,
 * handing each chunk to `onChunk` synchronously. The next read is started before a chunk is
 * handed on, so it is in flight on libuv's thread pool while the chunk is encoded and written;
 * no buffer is allocated per read (a fresh 1 MiB buffer per read costs about as much CPU as the
 * read itself). Rules: onChunk must not keep the chunk past its return (the buffer is reused);
 * one read is in flight at a time, so chunks come in stream order. Resolves at EOF; rejects
 * with what onChunk threw (no chunk is handed on after that) or with a read error.
 */
export function readLoop(fd: number, size: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)] as const;
  return new Promise((resolve, reject) => {
    let turn = 0;
    let stopped = false;
    const next = (): void => {
      const buf = bufs[turn]!;
      turn ^= 1;
      const start = (): void => read(fd, buf, 0, size, null, (err, n) => {
        if (stopped) return;
        if (err) {
          // Qubes and the simulator hand services blocking descriptors; a non-blocking one is polled.
          if (err.code === 'EAGAIN') { setTimeout(start, RETRY_MS); return; }
          stopped = true;
          reject(err);
          return;
        }
        if (n === 0) { stopped = true; resolve(); return; }
        next(); // into the other buffer, while this one is handled
        try {
          onChunk(buf.subarray(0, n));
        } catch (e) {
          stopped = true;
          reject(e);
        }
      });
      start();
    };
    next();
  });
}
