import { QbuildError } from '../../errors.js';
import { HASH_SIZE, leafHash, MerkleTree } from './merkle.js';

/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles): the Merkle tree and the entries as static
 * files, committed to the logs repository next to `checkpoint`.
 *
 *   tile/<L>/<N>[.p/<W>]        level-L hash tile N: up to 256 consecutive hashes of Merkle
 *                               level 8·L, i.e. hash i of tile N is
 *                               MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])
 *   tile/entries/<N>[.p/<W>]    entry bundle N: entries N·256 … as uint16-BE-length-prefixed bytes
 *
 * <N> is written in 3-digit groups, every group but the last prefixed with `x`
 * (1234067 → x001/x234/067); `.p/<W>` marks a partial tile of W (1..255) hashes. A tree of size
 * s has floor(s / 256^L) hashes at tile level L: full tiles of 256, then a partial one of the
 * rest, if any. Pure: paths and bytes in, values out (the caller does the file I/O).
 */

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 1 << TILE_HEIGHT;
/** The spec's bound on `<L>`. */
const MAX_LEVEL = 63;

export interface TileFile {
  path: string;
  bytes: Buffer;
}

/** Reads a file by its path under the log's prefix; undefined when it does not exist. */
export type TileReader = (path: string) => Buffer | undefined;

function bad(why: string): never {
  throw new QbuildError('bad-input', `tiles: ${why}`);
}

function misuse(why: string): never {
  throw new QbuildError('internal', `tiles: ${why}`);
}

/** `<N>` as zero-padded 3-digit path elements, all but the last prefixed with `x`. */
function encodeIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) misuse(`tile index ${n} is not a non-negative integer`);
  let digits = String(n);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = digits.match(/.{3}/g)!;
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** The `.p/<W>` suffix: none for a full tile (W omitted or 256), else W in 1..255. */
function widthSuffix(width: number | undefined): string {
  if (width === undefined || width === TILE_WIDTH) return '';
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH - 1) misuse(`tile width ${width} not in 1..256`);
  return `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(level: number, index: number, width?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL) misuse(`tile level ${level} not in 0..${MAX_LEVEL}`);
  return `tile/${level}/${encodeIndex(index)}${widthSuffix(width)}`;
}

/** `tile/entries/<N>[.p/<W>]`. */
export function entriesPath(index: number, width?: number): string {
  return `tile/entries/${encodeIndex(index)}${widthSuffix(width)}`;
}

/** How many hashes tile level L has for a tree of `size`: floor(size / 256^L). */
function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** The tiles of one level [first, last] a count of hashes spans, with their widths. */
function* tilesOfLevel(from: number, to: number): Generator<{ index: number; width: number }> {
  for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < to; n++) {
    yield { index: n, width: Math.min(TILE_WIDTH, to - n * TILE_WIDTH) };
  }
}

/**
 * The hash tiles a growth from `oldSize` to `newSize` writes: at each level, every tile that
 * gains a hash, full or partial at its new width (a partial tile for every checkpointed size,
 * as the spec requires logs to serve). Nothing when the sizes are equal.
 */
export function tilesFor(tree: MerkleTree, oldSize: number, newSize: number): TileFile[] {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize || newSize > tree.size) {
    misuse(`growth ${oldSize} -> ${newSize} not within the tree of ${tree.size}`);
  }
  const out: TileFile[] = [];
  for (let level = 0; hashesAtLevel(newSize, level) > 0; level++) {
    const before = hashesAtLevel(oldSize, level);
    const after = hashesAtLevel(newSize, level);
    if (after === before) continue;
    for (const { index, width } of tilesOfLevel(before, after)) {
      const start = index * TILE_WIDTH;
      out.push({ path: tilePath(level, index, width), bytes: tree.levelHashes(TILE_HEIGHT * level, start, start + width) });
    }
  }
  return out;
}

/**
 * The entry bundles a growth from `oldSize` to `newSize` writes (full and partial), with
 * `entryAt(i)` giving entry i's bytes.
 */
export function bundlesFor(oldSize: number, newSize: number, entryAt: (i: number) => Uint8Array): TileFile[] {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) misuse(`growth ${oldSize} -> ${newSize}`);
  const out: TileFile[] = [];
  if (newSize === oldSize) return out;
  for (const { index, width } of tilesOfLevel(oldSize, newSize)) {
    const start = index * TILE_WIDTH;
    const entries = Array.from({ length: width }, (_, i) => entryAt(start + i));
    out.push({ path: entriesPath(index, width), bytes: entryBundle(entries) });
  }
  return out;
}

/** Entries, each prefixed with its length as a big-endian uint16 (so each is ≤ 65 535 bytes). */
export function entryBundle(entries: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.length > 0xffff) misuse(`entry of ${e.length} bytes does not fit a uint16 length`);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(e.length, 0);
    parts.push(len, Buffer.from(e));
  }
  return Buffer.concat(parts);
}

/** Splits a bundle into views of `bytes` (no copies). Rule: a sequence of (uint16-BE length, that many bytes); a truncated length or entry is refused. */
export function parseEntryBundle(bytes: Uint8Array): Buffer[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const out: Buffer[] = [];
  let at = 0;
  while (at < b.length) {
    if (at + 2 > b.length) bad(`entry bundle truncated in a length prefix at byte ${at}`);
    const len = b.readUInt16BE(at);
    at += 2;
    if (at + len > b.length) bad(`entry bundle truncated in entry ${out.length}`);
    out.push(b.subarray(at, at + len));
    at += len;
  }
  return out;
}

/**
 * Reads tile `index` (of `width` items) at `path(width)`. Rule: the partial tile of that
 * width must exist, or else the full tile (the spec lets a log delete a partial tile once the
 * full one exists); the caller checks its shape.
 */
function readTile(read: TileReader, path: (width?: number) => string, width: number): { path: string; bytes: Buffer; full: boolean } {
  const exact = path(width);
  const bytes = read(exact);
  if (bytes) return { path: exact, bytes, full: width === TILE_WIDTH };
  if (width < TILE_WIDTH) {
    const fullPath = path();
    const full = read(fullPath);
    if (full) return { path: fullPath, bytes: full, full: true };
  }
  return bad(`${exact} is missing`);
}

/** The hashes a hash tile must hold. Rule: exactly width × 32 bytes (8 192 for a full tile). */
function tileHashes(path: string, bytes: Buffer, full: boolean, width: number): Buffer {
  const want = (full ? TILE_WIDTH : width) * HASH_SIZE;
  if (bytes.length !== want) bad(`${path} is ${bytes.length} bytes, not ${want}`);
  return bytes.subarray(0, width * HASH_SIZE);
}

/**
 * Rebuilds the tree of `size` from the hash tiles. Rules: every level-0 tile the size needs
 * exists with the exact length; the leaf hashes in them rebuild the tree; and every tile of
 * every higher level the size needs exists, has the exact length, and holds exactly the
 * hashes the rebuilt tree has there (a tile that disagrees with the leaves is a forgery).
 */
export function treeFromTiles(read: TileReader, size: number): MerkleTree {
  if (!Number.isSafeInteger(size) || size < 0) bad(`tree size ${size} is not a non-negative integer`);
  const tree = new MerkleTree();
  for (const { index, width } of tilesOfLevel(0, size)) {
    const t = readTile(read, (w) => tilePath(0, index, w), width);
    const hashes = tileHashes(t.path, t.bytes, t.full, width);
    for (let i = 0; i < width; i++) tree.append(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  }
  for (let level = 1; hashesAtLevel(size, level) > 0; level++) {
    for (const { index, width } of tilesOfLevel(0, hashesAtLevel(size, level))) {
      const t = readTile(read, (w) => tilePath(level, index, w), width);
      const hashes = tileHashes(t.path, t.bytes, t.full, width);
      const start = index * TILE_WIDTH;
      if (!hashes.equals(tree.levelHashes(TILE_HEIGHT * level, start, start + width))) {
        bad(`${t.path} does not match the hashes of the level-${level - 1} tiles`);
      }
    }
  }
  return tree;
}

/**
 * Reads the `size` entries from the entry bundles. Rules: every bundle the size needs exists
 * (partial, or the full one instead) and holds exactly its width of entries (256 for a full
 * one). Checking that each entry hashes to its leaf is the caller's (see entriesMatchTree).
 */
export function entriesFromTiles(read: TileReader, size: number): Buffer[] {
  if (!Number.isSafeInteger(size) || size < 0) bad(`tree size ${size} is not a non-negative integer`);
  const out: Buffer[] = [];
  for (const { index, width } of tilesOfLevel(0, size)) {
    const t = readTile(read, (w) => entriesPath(index, w), width);
    const entries = parseEntryBundle(t.bytes);
    const want = t.full ? TILE_WIDTH : width;
    if (entries.length !== want) bad(`${t.path} holds ${entries.length} entries, not ${want}`);
    out.push(...entries.slice(0, width));
  }
  return out;
}

/**
 * Rule: there is one entry per leaf and entry i hashes (RFC 6962 leaf hash) to leaf i of the
 * tree; throws naming the first entry that does not.
 */
export function entriesMatchTree(tree: MerkleTree, entries: Uint8Array[]): void {
  if (entries.length !== tree.size) bad(`${entries.length} entries for a tree of ${tree.size} leaves`);
  entries.forEach((e, i) => {
    if (!leafHash(e).equals(tree.leafHashAt(i))) bad(`entry ${i} (${entriesPath(Math.floor(i / TILE_WIDTH))}) does not hash to leaf ${i}`);
  });
}
