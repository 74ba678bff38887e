import { type Bytes, assemble, i32, op, v128 } from './wasm-asm.js';

/**
 * The encoder's fast path as a WebAssembly (SIMD) kernel: for a block of complete lines in its
 * memory, stores `prefix + sanitised line + \n` per line, 16 bytes per step. It refuses
 * (returns -1) a block the exact JS path must handle: a line longer than maxLine, or one
 * containing `qbuild-` (end marker, manifest). Pure: bytes in, bytes out.
 *
 * encode(inp, end, pfx, plen, out, maxLine) → end of the output, or -1
 *   inp..end   the block; end - 1 is a newline. 16 bytes after end are read (ignored).
 *   pfx, plen  the line prefix; read in 16-byte steps (up to plen rounded up to 16).
 *   out        where output goes; up to 32 bytes past the returned end may be overwritten.
 */

// Parameters, then locals.
const INP = 0, END = 1, PFX = 2, PLEN = 3, OUT = 4, MAXLINE = 5;
const LINE_START = 6, MASK = 7, J = 8, V = 9, S20 = 10, S5F = 11, SNL = 12, SQ = 13, SDOT = 14;

/** `"qbuild-"` read as the low 7 bytes of a little-endian i64. */
const QBUILD = BigInt(`0x${[...Buffer.from('qbuild-', 'latin1')].reverse().map((b) => b.toString(16).padStart(2, '0')).join('')}`);

const splat = (byte: number, local: number): Bytes[] => [op.i32Const(byte), op.i8x16Splat, op.set(local)];
const addTo = (local: number, amount: Bytes[]): Bytes[] => [op.get(local), ...amount, op.i32Add, op.set(local)];

/** out[0, plen) = pfx[0, plen), 16 bytes at a time; out += plen. */
const copyPrefix: Bytes[] = [
  op.i32Const(0), op.set(J),
  op.loop,
  op.get(OUT), op.get(J), op.i32Add,
  op.get(PFX), op.get(J), op.i32Add, op.v128Load,
  op.v128Store,
  ...addTo(J, [op.i32Const(16)]),
  op.get(J), op.get(PLEN), op.i32LtU, op.brIf(0),
  op.end,
  ...addTo(OUT, [op.get(PLEN)]),
];

const body: Bytes[] = [
  ...splat(0x20, S20), ...splat(0x5f, S5F), ...splat(0x0a, SNL), ...splat(0x71, SQ), ...splat(0x2e, SDOT),
  op.get(INP), op.set(LINE_START),
  ...copyPrefix,
  op.block, // $done
  op.block, // $refuse
  op.loop, // $step: 16 input bytes from inp
  // out[0, 16) = each byte kept if 0x20-0x7E or newline, else '.'
  op.get(OUT),
  op.get(INP), op.v128Load, op.tee(V),
  op.get(SDOT),
  op.get(V), op.get(S20), op.i8x16Sub, op.get(S5F), op.i8x16LtU,
  op.get(V), op.get(SNL), op.i8x16Eq,
  op.v128Or,
  op.v128Bitselect,
  op.v128Store,
  // MASK = positions of newlines and 'q's
  op.get(V), op.get(SNL), op.i8x16Eq,
  op.get(V), op.get(SQ), op.i8x16Eq,
  op.v128Or, op.i8x16Bitmask, op.tee(MASK),
  op.i32Eqz,
  op.if, // none: all 16 stored as they are
  ...addTo(INP, [op.i32Const(16)]),
  ...addTo(OUT, [op.i32Const(16)]),
  op.br(1),
  op.end,
  // keep the bytes up to and including the first event; inp - 1 is the event byte
  ...addTo(INP, [op.get(MASK), op.i32Ctz, op.i32Const(1), op.i32Add]),
  ...addTo(OUT, [op.get(MASK), op.i32Ctz, op.i32Const(1), op.i32Add]),
  op.get(INP), op.i32Const(1), op.i32Sub, op.i32Load8u, op.i32Const(0x71), op.i32Eq,
  op.if, // 'q': refuse if "qbuild-" starts here, else go on after it
  op.get(INP), op.i32Const(1), op.i32Sub, op.i64Load, op.i64Const(0x00ffffffffffffffn), op.i64And,
  op.i64Const(QBUILD), op.i64Eq, op.brIf(2),
  op.br(1),
  op.end,
  // newline: refuse an overlong line; stop after the last; else the next line's prefix
  op.get(INP), op.i32Const(1), op.i32Sub, op.get(LINE_START), op.i32Sub, op.get(MAXLINE), op.i32GtU, op.brIf(1),
  op.get(INP), op.set(LINE_START),
  op.get(INP), op.get(END), op.i32GeU, op.brIf(2),
  ...copyPrefix,
  op.br(0),
  op.end, // $step
  op.end, // $refuse
  op.i32Const(-1), op.return,
  op.end, // $done
  op.get(OUT),
];

/** Bytes the kernel may read past a block's end or write past its output's end. */
export const KERNEL_SLACK = 32;
/** The module's bytes (exported for the tests). */
export const KERNEL_BYTES = assemble([{
  name: 'encode',
  params: [i32, i32, i32, i32, i32, i32],
  results: [i32],
  locals: [i32, i32, i32, v128, v128, v128, v128, v128, v128],
  body,
}], 1);

export interface EncodeKernel {
  memory: WebAssembly.Memory;
  encode(inp: number, end: number, pfx: number, plen: number, out: number, maxLine: number): number;
}

let compiled: WebAssembly.Module | null | undefined;

/**
 * A new instance (its own memory), or undefined when this Node cannot run it (no WebAssembly or
 * no SIMD, or QBUILD_NO_WASM=1): the encoder then uses its JS path for everything.
 */
export function loadKernel(): EncodeKernel | undefined {
  if (compiled === null || process.env.QBUILD_NO_WASM === '1') return undefined;
  try {
    compiled ??= new WebAssembly.Module(KERNEL_BYTES);
    const exports = new WebAssembly.Instance(compiled).exports as unknown as EncodeKernel;
    return { memory: exports.memory, encode: exports.encode };
  } catch {
    compiled = null;
    return undefined;
  }
}
