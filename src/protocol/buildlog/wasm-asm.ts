/**
 * A tiny WebAssembly assembler: just the instructions and sections the build-log kernel
 * (encode-kernel.ts) needs, so the module is written here as readable instructions and turned
 * into bytes at start-up, with no toolchain. Encodings from the WebAssembly core spec 2.0
 * (binary format, §5) and its fixed-width SIMD opcodes (prefix 0xFD). Pure.
 */

export type Bytes = number[];

/** Unsigned LEB128 (sizes, indices, alignments, offsets). */
export function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** Signed LEB128 (i32.const / i64.const immediates). */
export function sleb(v: bigint): Bytes {
  const out: Bytes = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export const i32 = 0x7f;
export const i64 = 0x7e;
export const v128 = 0x7b;
type ValType = typeof i32 | typeof i64 | typeof v128;

const simd = (op: number, ...imm: Bytes): Bytes => [0xfd, ...uleb(op), ...imm];
/** memarg: alignment exponent and offset (always 0 here: addresses are computed). */
const mem = (align: number): Bytes => [align, 0];

/** Instructions, each as its bytes. Block types are always empty (0x40). */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number): Bytes => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  return: [0x0f],
  get: (local: number): Bytes => [0x20, ...uleb(local)],
  set: (local: number): Bytes => [0x21, ...uleb(local)],
  tee: (local: number): Bytes => [0x22, ...uleb(local)],
  i64Load: [0x29, ...mem(0)],
  i32Load8u: [0x2d, ...mem(0)],
  i32Const: (v: number): Bytes => [0x41, ...sleb(BigInt(v | 0))],
  i64Const: (v: bigint): Bytes => [0x42, ...sleb(BigInt.asIntN(64, v))],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32LtU: [0x49],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  i64Eq: [0x51],
  i32Ctz: [0x68],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i64And: [0x83],
  v128Load: simd(0x00, ...mem(0)),
  v128Store: simd(0x0b, ...mem(0)),
  i8x16Splat: simd(0x0f),
  i8x16Eq: simd(0x23),
  i8x16LtU: simd(0x26),
  v128Or: simd(0x50),
  /** bitselect(a, b, c) = (a & c) | (b & ~c) */
  v128Bitselect: simd(0x52),
  i8x16Bitmask: simd(0x64),
  i8x16Sub: simd(0x71),
};

export interface WasmFunction {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Extra locals, numbered after the parameters. */
  locals: ValType[];
  /** Instructions without the final `end`. */
  body: Bytes[];
}

const vec = (items: Bytes[]): Bytes => [...uleb(items.length), ...items.flat()];
const name = (s: string): Bytes => vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
const section = (id: number, content: Bytes): Bytes => [id, ...uleb(content.length), ...content];

/** A module with one memory (`memory`, `pages` × 64 KiB initially, growable) and the given functions, all exported. */
export function assemble(fns: WasmFunction[], pages: number): Uint8Array<ArrayBuffer> {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const codes = fns.map((f) => {
    const code = [...vec(f.locals.map((t) => [1, t])), ...f.body.flat(), ...op.end];
    return [...uleb(code.length), ...code];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vec(types)),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec([
      ...fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
      [...name('memory'), 0x02, 0],
    ])),
    ...section(10, vec(codes)),
  ];
  return Uint8Array.from(bytes);
}
