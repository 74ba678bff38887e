/**
 * Fast classification of a block of complete lines, four bytes at a time (SWAR on a
 * Uint32Array view): is every line at most `maxLine` bytes, and is every byte printable
 * (0x20–0x7E) or a newline? This lets the encoder handle typical chunks with a few native
 * string operations instead of a per-byte loop. Pure.
 */
export interface BlockScan {
  /** Every line fits in maxLine bytes (else the caller must split lines: slow path). */
  fits: boolean;
  /** Some byte needs sanitising. */
  dirty: boolean;
  /** Newlines in the block. */
  lines: number;
}

/** One byte: true when it is not a newline and outside 0x20–0x7E. */
const bad = (b: number): boolean => b !== 10 && (b - 0x20) >>> 0 >= 0x5f;

export function scanBlock(buf: Buffer, s: number, e: number, maxLine: number): BlockScan {
  let dirty = false;
  let lines = 0;
  let lineStart = s;
  let i = s;
  const base = buf.byteOffset;
  const byte = (p: number): void => {
    const b = buf[p]!;
    if (b === 10) {
      if (p - lineStart > maxLine) lineStart = -Infinity;
      else lineStart = p + 1;
      lines++;
    } else if (bad(b)) {
      dirty = true;
    }
  };
  while (i < e && ((base + i) & 3) !== 0) byte(i++);
  const words = (e - i) >>> 2;
  if (words > 0) {
    const w32 = new Uint32Array(buf.buffer, base + i, words);
    for (let k = 0; k < words; k++) {
      const w = w32[k]!;
      // Any byte > 0x7E, or any byte < 0x20 (a newline or a control character): look closer.
      if (((((w + 0x01010101) | w) & 0x80808080) | ((w - 0x20202020) & ~w & 0x80808080)) !== 0) {
        const p = i + 4 * k;
        byte(p); byte(p + 1); byte(p + 2); byte(p + 3);
        if (lineStart === -Infinity) return { fits: false, dirty, lines };
      }
    }
    i += words * 4;
  }
  while (i < e) byte(i++);
  if (lineStart === -Infinity || e - lineStart > maxLine) return { fits: false, dirty, lines };
  return { fits: true, dirty, lines };
}
