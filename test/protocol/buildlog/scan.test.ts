import { describe, expect, it } from 'vitest';
import { isBadByte, isCleanBlock, linesFit } from '../../../src/protocol/buildlog/scan.js';
import { xorshift32 } from '../../helpers/random.js';

/** The rules written the obvious way, byte by byte. */
const cleanRef = (b: Buffer): boolean => b.every((x) => x === 10 || (x >= 0x20 && x <= 0x7e));
const fitRef = (b: Buffer, max: number): boolean => b.toString('latin1').split('\n').slice(0, -1).every((l) => l.length <= max);

describe('block scan', () => {
  it('classifies every byte value at every position of a word, aligned or not', () => {
    for (let b = 0; b < 256; b++) {
      expect(isBadByte(b)).toBe(!(b === 10 || (b >= 0x20 && b <= 0x7e)));
      for (let off = 0; off < 4; off++) {
        for (let pos = 0; pos < 12; pos++) {
          const backing = Buffer.alloc(16 + off, 0x41);
          const view = backing.subarray(off, off + 12);
          view[pos] = b;
          expect(isCleanBlock(view, 0, 12), `byte ${b} at ${pos}+${off}`).toBe(cleanRef(view));
        }
      }
    }
  });

  it('classifies every pair of adjacent bytes (no borrow or carry between bytes)', () => {
    const buf = Buffer.alloc(8, 0x41);
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        buf[1] = a;
        buf[2] = b;
        if (isCleanBlock(buf, 0, 8) !== cleanRef(buf)) expect.fail(`pair ${a} ${b}`);
      }
    }
  });

  it('agrees with the byte-wise rules on random blocks and sub-ranges', () => {
    const rnd = xorshift32(7);
    for (let round = 0; round < 2000; round++) {
      const max = 1 + rnd(40);
      const lines = Array.from({ length: rnd(20) }, () => {
        const len = rnd(4) === 0 ? rnd(3 * max) : rnd(max + 1);
        return Buffer.from(Array.from({ length: len }, () => (rnd(50) === 0 ? rnd(256) : 0x20 + rnd(95))).map((c) => (c === 10 ? 0x41 : c)));
      });
      const block = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
      const s = rnd(3);
      const backing = Buffer.concat([Buffer.alloc(s, 0x41), block]);
      expect(isCleanBlock(backing, s, backing.length)).toBe(cleanRef(block));
      expect(linesFit(backing, s, backing.length, max), `round ${round}`).toBe(fitRef(block, max));
    }
  });
});
