import { describe, expect, it } from 'vitest';
import { leafHash, MerkleTree } from '../../../src/protocol/tlog/merkle.js';
import {
  bundlesFor, entriesFromTiles, entriesMatchTree, entriesPath, entryBundle, parseEntryBundle, tilePath, tilesFor,
  treeFromTiles, type TileFile,
} from '../../../src/protocol/tlog/tiles.js';

const entry = (i: number): Buffer => Buffer.from(`entry ${i}\n`);
function treeOf(n: number): MerkleTree {
  const t = new MerkleTree();
  for (let i = 0; i < n; i++) t.append(leafHash(entry(i)));
  return t;
}
/** The files a log writes growing through `sizes` (one checkpoint per size). */
function grow(tree: MerkleTree, sizes: number[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let old = 0;
  for (const s of sizes) {
    for (const f of [...tilesFor(tree, old, s), ...bundlesFor(old, s, entry)]) files.set(f.path, f.bytes);
    old = s;
  }
  return files;
}
const describeTiles = (files: TileFile[]): string[] => files.map((f) => `${f.path} ${f.bytes.length / 32}`);

describe('tlog-tiles paths', () => {
  it('encodes indexes as in the specification', () => {
    expect(tilePath(0, 1234067)).toBe('tile/0/x001/x234/067'); // the spec's example index
    expect(tilePath(0, 1234)).toBe('tile/0/x001/234');
    expect(tilePath(0, 1234, 7)).toBe('tile/0/x001/234.p/7');
    expect(tilePath(2, 0)).toBe('tile/2/000');
    expect(tilePath(1, 5, 256)).toBe('tile/1/005');
    expect(tilePath(63, 999)).toBe('tile/63/999');
    expect(tilePath(0, 1000)).toBe('tile/0/x001/000');
    expect(entriesPath(1234067)).toBe('tile/entries/x001/x234/067');
    expect(entriesPath(0, 255)).toBe('tile/entries/000.p/255');
    for (const f of [() => tilePath(64, 0), () => tilePath(0, -1), () => tilePath(0, 1.5), () => tilePath(0, 0, 0), () => tilePath(0, 0, 257)]) {
      expect(f).toThrow();
    }
  });
});

describe('tlog-tiles hash tiles', () => {
  it('writes the tiles the specification lists for trees of 70 000 and 256', () => {
    const t = treeOf(70_000);
    const files = tilesFor(t, 0, 70_000);
    const level0 = files.filter((f) => f.path.startsWith('tile/0/'));
    expect(level0.filter((f) => !f.path.includes('.p/'))).toHaveLength(273);
    expect(describeTiles(files.filter((f) => f.path.includes('.p/') || !f.path.startsWith('tile/0/')))).toEqual([
      'tile/0/273.p/112 112', 'tile/1/000 256', 'tile/1/001.p/17 17', 'tile/2/000.p/1 1',
    ]);
    expect(level0[0]!.bytes).toEqual(t.levelHashes(0, 0, 256));
    // Level-1 hash i is MTH(D[i·256 : (i+1)·256]), each computed here from its own 256 leaves.
    const tile1 = files.find((f) => f.path === 'tile/1/000')!.bytes;
    for (const i of [0, 1, 255]) {
      const sub = new MerkleTree(Array.from({ length: 256 }, (_, j) => leafHash(entry(i * 256 + j))));
      expect(tile1.subarray(i * 32, (i + 1) * 32), `tile/1/000 hash ${i}`).toEqual(sub.root());
    }
    expect(files.find((f) => f.path === 'tile/2/000.p/1')!.bytes).toEqual(t.root(65_536));
    expect(describeTiles(tilesFor(treeOf(256), 0, 256))).toEqual(['tile/0/000 256', 'tile/1/000.p/1 1']);
    expect(tilesFor(t, 500, 500)).toEqual([]);
  });

  it('writes, for a growth, only the tiles that gain hashes, partial at their new width', () => {
    const t = treeOf(600);
    expect(describeTiles(tilesFor(t, 0, 10))).toEqual(['tile/0/000.p/10 10']);
    expect(describeTiles(tilesFor(t, 10, 300))).toEqual(['tile/0/000 256', 'tile/0/001.p/44 44', 'tile/1/000.p/1 1']);
    expect(describeTiles(tilesFor(t, 300, 310))).toEqual(['tile/0/001.p/54 54']);
    expect(describeTiles(tilesFor(t, 310, 600))).toEqual(['tile/0/001 256', 'tile/0/002.p/88 88', 'tile/1/000.p/2 2']);
    expect(() => tilesFor(t, 10, 601)).toThrow();
    expect(() => tilesFor(t, 11, 10)).toThrow();
  });

  it('rebuilds the tree from the tiles written over several checkpoints, at each size', () => {
    const t = treeOf(70_000);
    const sizes = [1, 255, 256, 257, 1000, 65_536, 65_537, 70_000];
    const files = grow(t, sizes);
    for (const s of sizes) {
      const back = treeFromTiles((p) => files.get(p), s);
      expect(back.size).toBe(s);
      expect(back.root()).toEqual(t.root(s));
    }
    expect(treeFromTiles((p) => files.get(p), 0).root()).toEqual(t.root(0));
    const entries = entriesFromTiles((p) => files.get(p), 70_000);
    expect(entries[69_999]).toEqual(entry(69_999));
    entriesMatchTree(t, entries);
  });

  it('uses the full tile when a partial one was deleted, as the spec allows', () => {
    const t = treeOf(600);
    const files = grow(t, [100, 600]);
    expect(files.has('tile/0/000.p/100')).toBe(true);
    files.delete('tile/0/000.p/100');
    files.delete('tile/entries/000.p/100');
    expect(treeFromTiles((p) => files.get(p), 100).root()).toEqual(t.root(100));
    expect(entriesFromTiles((p) => files.get(p), 100)).toHaveLength(100);
  });

  it('names the tile that is missing, mis-sized or disagrees with the leaves', () => {
    const t = treeOf(70_000);
    const files = grow(t, [70_000]);
    const read = (m: Map<string, Buffer>) => (p: string) => m.get(p);
    const edited = (path: string, f: (b: Buffer | undefined) => Buffer | undefined): Map<string, Buffer> => {
      const m = new Map(files);
      const b = f(m.get(path) && Buffer.from(m.get(path)!));
      if (b) m.set(path, b); else m.delete(path);
      return m;
    };
    expect(() => treeFromTiles(read(edited('tile/0/005', () => undefined)), 70_000)).toThrow(/tile\/0\/005 is missing/);
    expect(() => treeFromTiles(read(edited('tile/0/273.p/112', (b) => b!.subarray(32))), 70_000)).toThrow(/tile\/0\/273.p\/112 is 3552 bytes, not 3584/);
    expect(() => treeFromTiles(read(edited('tile/1/000', (b) => { b![100] ^= 1; return b; })), 70_000)).toThrow(/tile\/1\/000 does not match/);
    expect(() => treeFromTiles(read(edited('tile/2/000.p/1', (b) => { b![0] ^= 1; return b; })), 70_000)).toThrow(/tile\/2\/000.p\/1 does not match/);
    const changedLeaf = treeFromTiles(read(edited('tile/0/273.p/112', (b) => { b![0] ^= 1; return b; })), 70_000);
    expect(changedLeaf.root()).not.toEqual(t.root()); // the checkpoint's root check catches a changed leaf tile
    const entries = entriesFromTiles(read(files), 70_000);
    entries[300] = Buffer.from('forged\n');
    expect(() => entriesMatchTree(t, entries)).toThrow(/entry 300 \(tile\/entries\/001\) does not hash to leaf 300/);
    expect(() => entriesMatchTree(t, entries.slice(1))).toThrow(/69999 entries/);
    expect(() => entriesFromTiles(read(edited('tile/entries/273.p/112', (b) => Buffer.concat([b!, entryBundle([Buffer.from('x')])]))), 70_000))
      .toThrow(/holds 113 entries, not 112/);
  });
});

describe('tlog-tiles entry bundles', () => {
  it('length-prefixes entries as big-endian uint16 and splits them back', () => {
    const b = entryBundle([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 7)]);
    expect(b.subarray(0, 4)).toEqual(Buffer.from([0, 2, 0x61, 0x62]));
    expect(b.subarray(4, 8)).toEqual(Buffer.from([0, 0, 1, 0x2c]));
    expect(parseEntryBundle(b)).toEqual([Buffer.from('ab'), Buffer.alloc(0), Buffer.alloc(300, 7)]);
    expect(parseEntryBundle(Buffer.alloc(0))).toEqual([]);
    expect(() => parseEntryBundle(b.subarray(0, b.length - 1))).toThrow(/truncated in entry 2/);
    expect(() => parseEntryBundle(Buffer.concat([b, Buffer.from([0])]))).toThrow(/truncated in a length prefix/);
    expect(() => entryBundle([Buffer.alloc(65_536)])).toThrow();
  });
});
