/**
 * Fast classification of a block of complete lines, so the encoder can store typical chunks
 * with a few native string operations instead of a per-byte loop. Pure.
 */

/** One byte needs sanitising: not a newline and outside 0x20–0x7E. */
export const isBadByte = (b: number): boolean => b !== 10 && (b - 0x20) >>> 0 >= 0x5f;

/**
 * True when every byte of buf[s, e) is printable (0x20–0x7E) or a newline. Four bytes at a
 * time (SWAR on an Int32Array view), exact per byte: with `low = x & 0x7f7f7f7f` no sum below
 * carries into the next byte, and a byte's high bit in
 *   (low + 0x01)  is set iff the byte's low 7 bits are ≥ 0x7F,
 *   x             is set iff the byte is ≥ 0x80,
 *   (low + 0x60)  is set iff low ≥ 0x20, and (y + 0x7f) | y, y = low ^ 0x0a, iff low ≠ 0x0a;
 * so a set high bit in  (low+0x01) | x | ~((low+0x60) | ~((y+0x7f) | y))  marks a bad byte.
 */
export function isCleanBlock(buf: Buffer, s: number, e: number): boolean {
  let i = s;
  const base = buf.byteOffset;
  while (i < e && ((base + i) & 3) !== 0) if (isBadByte(buf[i++]!)) return false;
  const words = (e - i) >>> 2;
  if (words > 0) {
    const w32 = new Int32Array(buf.buffer, base + i, words);
    let acc = 0;
    for (let k = 0; k < words; k++) {
      const x = w32[k]!;
      const low = x & 0x7f7f7f7f;
      const y = low ^ 0x0a0a0a0a;
      acc |= (low + 0x01010101) | x | ~((low + 0x60606060) | ~((y + 0x7f7f7f7f) | y));
    }
    if ((acc & 0x80808080) !== 0) return false;
    i += words * 4;
  }
  while (i < e) if (isBadByte(buf[i++]!)) return false;
  return true;
}

/**
 * True when no line of the block buf[s, e) (complete lines: e is just after a newline) is
 * longer than `maxLine` bytes. Jumps from line start to the last newline within maxLine + 1
 * bytes (native lastIndexOf), so it costs about one call per maxLine bytes.
 */
export function linesFit(buf: Buffer, s: number, e: number, maxLine: number): boolean {
  let start = s;
  while (e - start > maxLine) {
    const nl = buf.lastIndexOf(10, start + maxLine);
    if (nl < start) return false;
    start = nl + 1;
  }
  return true;
}
