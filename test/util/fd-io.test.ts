import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FdReader, FdWriter } from '../../src/util/fd-io.js';
import { tempDirs } from '../helpers/tmp.js';

const tmp = tempDirs('qbuild-fdio-');

/** Collects what an FdReader emits until 'end' (or 'error'). */
function drain(r: FdReader): Promise<{ chunks: Buffer[]; error?: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ chunks }));
    r.on('error', (error: Error) => resolve({ chunks, error }));
  });
}

describe('FdReader', () => {
  it('emits a descriptor\'s bytes in chunks of at most chunkSize, then end', async () => {
    const f = join(tmp(), 'in');
    const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    writeFileSync(f, bytes);
    const fd = openSync(f, 'r');
    const { chunks, error } = await drain(new FdReader(fd, 4096));
    closeSync(fd);
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(chunks)).toEqual(bytes);
  });

  it('starts no read while paused, and goes on where it stopped after resume', async () => {
    const f = join(tmp(), 'in');
    writeFileSync(f, 'abcdefgh');
    const fd = openSync(f, 'r');
    const r = new FdReader(fd, 4);
    const seen: string[] = [];
    const first = new Promise<void>((resolve) => r.on('data', (c: Buffer) => { seen.push(c.toString()); r.pause(); resolve(); }));
    await first;
    await new Promise((res) => setTimeout(res, 30));
    expect(seen).toEqual(['abcd']); // paused after the first chunk: nothing more was read
    const ended = new Promise<void>((resolve) => r.on('end', () => resolve()));
    r.removeAllListeners('data');
    r.on('data', (c: Buffer) => seen.push(c.toString()));
    r.resume();
    await ended;
    closeSync(fd);
    expect(seen).toEqual(['abcd', 'efgh']);
  });

  it('reports a read error (a directory) as error, once', async () => {
    const fd = openSync(tmp(), 'r');
    const { error } = await drain(new FdReader(fd));
    closeSync(fd);
    expect((error as NodeJS.ErrnoException).code).toBe('EISDIR');
  });
});

describe('FdWriter', () => {
  it('writes every byte synchronously and calls back', async () => {
    const f = join(tmp(), 'out');
    const fd = openSync(f, 'w');
    const w = new FdWriter(fd);
    const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const called = new Promise<void>((resolve) => w.write(big, () => resolve()));
    w.write(Buffer.from('end\n'));
    await called;
    closeSync(fd);
    const got = readFileSync(f);
    expect(got.length).toBe(big.length + 4);
    expect(got.subarray(-4).toString()).toBe('end\n');
  });

  it('stops quietly when the reader went away (EPIPE), as a socket error would', () => {
    const fifo = join(tmp(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wr = openSync(fifo, 'w');
    closeSync(rd);
    const w = new FdWriter(wr);
    expect(() => w.write(Buffer.from('nobody reads this\n'))).not.toThrow();
    expect(() => w.write(Buffer.from('nor this\n'))).not.toThrow();
    closeSync(wr);
  });
});
