import type { Readable, Writable } from 'node:stream';

/**
 * Bytes a relay lets queue on a stream before it pauses its source. Far above Node's default
 * high-water mark (16 KiB, less than one 64 KiB pipe read), so the source is paused only when
 * the far end really falls behind, not after every chunk as pipe() would.
 */
export const RELAY_HIGH_WATER = 1024 * 1024;

/** True while `w` has queued less than RELAY_HIGH_WATER: keep reading; else wait for 'drain'. */
export function hasRoom(w: { readonly writableLength: number }): boolean {
  return w.writableLength < RELAY_HIGH_WATER;
}

/**
 * Copies `from` into `to` with backpressure (pause above RELAY_HIGH_WATER, resume on 'drain').
 * `end`: end `to` when `from` ends. Once `to` is closed or broken (the far side went away),
 * the rest of `from` is read and dropped, so whoever writes into `from` never blocks.
 */
export function forward(from: Readable, to: Writable, opts: { end: boolean }): void {
  let dead = false;
  const drop = () => {
    if (dead) return;
    dead = true;
    from.off('data', onData);
    from.on('data', () => {});
    from.resume();
  };
  const onData = (chunk: Buffer) => {
    if (to.destroyed || to.writableEnded) return drop();
    to.write(chunk);
    if (!hasRoom(to)) { from.pause(); to.once('drain', () => from.resume()); }
  };
  from.on('data', onData);
  from.once('end', () => { if (opts.end && !dead && !to.destroyed) to.end(); });
  to.once('close', drop);
  to.on('error', () => { /* the far side went away: drop() on close */ });
}
