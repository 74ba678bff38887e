import { describe, expect, it } from 'vitest';
import { KERNEL_BYTES, loadKernel } from '../../../src/protocol/buildlog/encode-kernel.js';
import { LineEncoder } from '../../../src/protocol/buildlog/encoder.js';
import { END_MARKER, SANITIZE } from '../../../src/protocol/buildlog/format.js';
import { sleb, uleb } from '../../../src/protocol/buildlog/wasm-asm.js';
import { xorshift32 } from '../../helpers/random.js';

const T = Date.UTC(2026, 10, 26, 1, 2, 3) * 1000 + 456789;

describe('wasm assembler', () => {
  it('encodes LEB128 as the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456n)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(63n)).toEqual([0x3f]);
    expect(sleb(64n)).toEqual([0xc0, 0x00]);
    expect(sleb(-1n)).toEqual([0x7f]);
  });

  it('makes a module WebAssembly accepts', () => {
    expect(WebAssembly.validate(KERNEL_BYTES)).toBe(true);
    expect(loadKernel()).toBeDefined();
  });
});

describe('encode kernel', () => {
  const k = loadKernel()!;
  const mem = (): Buffer => Buffer.from(k.memory.buffer);
  k.memory.grow(2);
  const prefix = Buffer.from('P> ');
  const run = (input: Buffer, maxLine = 1 << 20): string | number => {
    mem().fill(0x0a, 256, 4096); // stale newlines past the block must not matter
    mem().set(prefix, 0);
    mem().set(input, 256);
    const end = k.encode(256, 256 + input.length, 0, prefix.length, 8192, maxLine);
    return end < 0 ? end : mem().toString('latin1', 8192, end);
  };

  it('sanitises every byte value at every position of a 16-byte step', () => {
    for (let b = 0; b < 256; b++) {
      if (b === 10) continue;
      for (let pos = 0; pos < 40; pos++) {
        const line = Buffer.alloc(40, 0x41);
        line[pos] = b;
        expect(run(Buffer.concat([line, Buffer.from('\n')]))).toBe(`P> ${Buffer.from(line.map((x) => SANITIZE[x]!)).toString('latin1')}\n`);
      }
    }
  });

  it('refuses overlong lines and lines with qbuild- anywhere in them, nothing else', () => {
    expect(run(Buffer.from('ab\ncdef\n'), 4)).toBe('P> ab\nP> cdef\n');
    expect(run(Buffer.from('ab\ncdefg\n'), 4)).toBe(-1);
    for (let pos = 0; pos < 20; pos++) {
      const line = `${'x'.repeat(pos)}qbuild-${'y'.repeat(20)}`;
      expect(run(Buffer.from(`a\n${line}\n`))).toBe(-1);
      expect(run(Buffer.from(`a\n${line.replace('-', '_')}\nq\nqq\n`))).toBe(`P> a\nP> ${line.replace('-', '_')}\nP> q\nP> qq\n`);
    }
    expect(run(Buffer.from('qbuild\n-\n'))).toBe('P> qbuild\nP> -\n');
  });
});

describe('LineEncoder: WebAssembly kernel and JS paths store the same bytes', () => {
  const rnd = xorshift32(0x9e3779b9);

  /** A random stream: all 256 byte values, many lines around and past max, `q`s, qbuild- lines. */
  function stream(max: number): Buffer {
    const parts: Buffer[] = [];
    const n = rnd(40);
    for (let i = 0; i < n; i++) {
      const kind = rnd(12);
      const len = kind === 0 ? max + 1 + (rnd(2) ? 0 : rnd(3 * max)) : kind === 1 ? max : rnd(max + 1);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = kind === 2 ? rnd(256) : kind === 3 ? [0x71, 0x0a, 0x41][rnd(3)]! : 0x20 + rnd(95);
      if (kind === 4 && len >= 7) b.write('qbuild-', rnd(len - 6), 'latin1');
      if (kind === 5) parts.push(Buffer.from(`${rnd(2) ? END_MARKER : `qbuild-sign sha256:${'ab'.repeat(32)} f${rnd(3)}`}\n`, 'latin1'));
      parts.push(b, Buffer.from(rnd(8) === 0 ? '' : '\n'));
    }
    return Buffer.concat(parts);
  }

  /** Encodes `input` cut at `cuts`, each chunk at its own time; everything the encoder reports. */
  function encode(input: Buffer, cuts: number[], opts: { wasm: boolean; max: number; cap: number }) {
    const enc = new LineEncoder({ vm: 'build-x', maxLineBytes: opts.max, maxLogBytes: opts.cap, wasm: opts.wasm });
    const out: Buffer[] = [];
    enc.marker(T, 'starting log');
    let p = 0;
    for (const [i, c] of [...cuts, input.length].entries()) {
      // Unaligned copies: the kernel must not depend on where the caller's bytes live.
      const off = i % 5;
      const backing = Buffer.alloc(c - p + off);
      input.copy(backing, off, p, c);
      enc.push(backing.subarray(off), T + 1000 * Math.floor(i / 3));
      out.push(Buffer.from(enc.take()));
      p = c;
    }
    enc.finish(T + 5e6);
    out.push(Buffer.from(enc.take()));
    const { storedBytes, lines, receivedBytes, capped, droppedBytes, droppedLines, endMarkerSeen } = enc;
    return { bytes: Buffer.concat(out).toString('latin1'), storedBytes, lines, receivedBytes, capped, droppedBytes, droppedLines, endMarkerSeen, manifest: enc.manifest.entries };
  }

  const same = (input: Buffer, cuts: number[], max: number, cap: number, what: string): void => {
    const js = encode(input, cuts, { wasm: false, max, cap });
    const wasm = encode(input, cuts, { wasm: true, max, cap });
    expect(wasm, what).toEqual(js);
  };

  it('for random streams and random chunkings, with and without reaching the size cap', () => {
    for (let round = 0; round < 400; round++) {
      const max = 1 + rnd(round % 2 ? 40 : 300) + (round % 4 === 0 ? 100 : 0);
      const input = stream(max);
      const cuts: number[] = [];
      for (let p = rnd(200); p < input.length; p += 1 + rnd(round % 3 ? 400 : 20)) cuts.push(p);
      const cap = rnd(4) === 0 ? rnd(input.length * 3 + 100) : 1 << 30;
      same(input, cuts, max, cap, `round ${round}`);
    }
  });

  it('for small streams cut at every boundary (one and two cuts)', () => {
    for (let round = 0; round < 12; round++) {
      const max = 1 + rnd(12);
      const input = stream(max).subarray(0, 48);
      for (let a = 0; a <= input.length; a++) {
        same(input, [a], max, 1 << 30, `round ${round} cut ${a}`);
        for (let b = a; b <= input.length; b += 1 + rnd(4)) same(input, [a, b], max, 1 << 30, `round ${round} cuts ${a},${b}`);
      }
    }
  });

  it('for large blocks (growing the kernel memory), lines of every length up to and past max', () => {
    const max = 64 * 1024;
    const lines: Buffer[] = [];
    for (let len = 0; len < 3000; len += 1 + rnd(7)) lines.push(Buffer.alloc(len, 0x61 + (len % 26)), Buffer.from('\n'));
    lines.push(Buffer.alloc(max, 0x7f), Buffer.from('\n'), Buffer.alloc(max + 1, 0x42), Buffer.from('\n'), Buffer.alloc(200000, 10));
    const input = Buffer.concat(lines);
    for (let i = 0; i < input.length; i += 1 + rnd(255)) input[i] = rnd(256);
    same(input, [], max, 1 << 30, 'one push');
    same(input, [input.length / 3 | 0, (2 * input.length) / 3 | 0], max, 1 << 30, 'three pushes');
    same(input, [5], max, input.length, 'size cap');
  });
});
