import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  emptyRoot, leafHash, MerkleTree, nodeHash, verifyConsistency, verifyInclusion,
} from '../../../src/protocol/tlog/merkle.js';

// Known answers: the RFC 6962 reference vectors as published in transparency-dev/merkle,
// proof/verify_test.go (github.com/transparency-dev/merkle; the same data as
// certificate-transparency-go's merkletree tests). Its inclusion vectors number leaves from 1;
// here indexes are 0-based.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f']
  .map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', // empty tree
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const CONSISTENCY = [
  { oldSize: 1, newSize: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { oldSize: 6, newSize: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { oldSize: 2, newSize: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { oldSize: 6, newSize: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Buffer => Buffer.from(s, 'hex');
const tree = (n: number): MerkleTree => new MerkleTree(LEAVES.slice(0, n).map(leafHash));

// A naive recursive RFC 6962 §2.1 implementation, straight from the definitions, to check
// the stored-subtree tree against.
const naive = {
  mth(d: Buffer[]): Buffer {
    if (d.length === 0) return createHash('sha256').digest();
    if (d.length === 1) return d[0]!;
    const k = naiveSplit(d.length);
    return nodeHash(naive.mth(d.slice(0, k)), naive.mth(d.slice(k)));
  },
  path(m: number, d: Buffer[]): Buffer[] {
    if (d.length <= 1) return [];
    const k = naiveSplit(d.length);
    return m < k ? [...naive.path(m, d.slice(0, k)), naive.mth(d.slice(k))] : [...naive.path(m - k, d.slice(k)), naive.mth(d.slice(0, k))];
  },
  subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
    if (m === d.length) return b ? [] : [naive.mth(d)];
    const k = naiveSplit(d.length);
    return m <= k
      ? [...naive.subproof(m, d.slice(0, k), b), naive.mth(d.slice(k))]
      : [...naive.subproof(m - k, d.slice(k), false), naive.mth(d.slice(0, k))];
  },
};
function naiveSplit(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

describe('RFC 6962 hashing', () => {
  it('hashes leaves and nodes with their domain prefixes', () => {
    expect(hex(emptyRoot())).toBe(ROOTS[0]);
    expect(hex(leafHash(new Uint8Array()))).toBe(ROOTS[1]);
    const l = leafHash(LEAVES[0]!);
    const r = leafHash(LEAVES[1]!);
    expect(hex(nodeHash(l, r))).toBe(ROOTS[2]);
    expect(hex(nodeHash(l, r))).toBe(createHash('sha256').update(Buffer.concat([Buffer.from([1]), l, r])).digest('hex'));
  });

  it('gives the reference root for every size 0..8, also as an older size of the 8-leaf tree', () => {
    const t8 = tree(8);
    for (let n = 0; n <= 8; n++) {
      expect(hex(tree(n).root()), `size ${n}`).toBe(ROOTS[n]);
      expect(hex(t8.root(n)), `root(${n}) of 8`).toBe(ROOTS[n]);
    }
    expect(t8.size).toBe(8);
    expect(hex(t8.leafHashAt(3))).toBe(hex(leafHash(LEAVES[3]!)));
  });
});

describe('inclusion proofs', () => {
  it('generates and verifies the reference audit paths', () => {
    for (const v of INCLUSION) {
      const t = tree(8);
      expect(t.inclusionProof(v.index, v.size).map(hex), `${v.index} in ${v.size}`).toEqual(v.proof);
      expect(verifyInclusion(v.index, v.size, leafHash(LEAVES[v.index]!), v.proof.map(unhex), unhex(ROOTS[v.size]!))).toBe(true);
    }
    expect(tree(1).inclusionProof(0)).toEqual([]);
    expect(verifyInclusion(0, 1, leafHash(LEAVES[0]!), [], unhex(ROOTS[1]!))).toBe(true);
  });

  it('rejects tampered proofs, wrong indexes and sizes, and malformed input', () => {
    for (const v of INCLUSION) {
      const proof = v.proof.map(unhex);
      const leaf = leafHash(LEAVES[v.index]!);
      const root = unhex(ROOTS[v.size]!);
      const bad: [number, number, Buffer, Buffer[], Buffer][] = [
        [v.index + 1, v.size, leaf, proof, root],
        [v.index ^ 2, v.size, leaf, proof, root],
        [v.index, v.size * 2, leaf, proof, root],
        [v.index, Math.floor(v.size / 2), leaf, proof, root],
        [v.index, v.size, leafHash(Buffer.from('wrong')), proof, root],
        [v.index, v.size, leaf, proof, emptyRoot()],
        [v.index, v.size, leaf, [...proof, root], root],
        [v.index, v.size, leaf, [root, ...proof], root],
        [v.index, v.size, leaf, proof.slice(0, -1), root],
        [v.index, v.size, leaf, [...proof.slice(0, -1), Buffer.alloc(0)], root],
        ...proof.map((_, i): [number, number, Buffer, Buffer[], Buffer] => {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[i]![0]! ^= 8;
          return [v.index, v.size, leaf, flipped, root];
        }),
      ];
      for (const [i, s, l, p, r] of bad) expect(verifyInclusion(i, s, l, p, r), `${i}/${s}`).toBe(false);
    }
    const h = leafHash(LEAVES[0]!);
    for (const [i, s] of [[0, 0], [1, 0], [1, 1], [2, 1], [-1, 1], [0.5, 2], [Number.NaN, 1], [0, 2 ** 64]]) {
      expect(verifyInclusion(i!, s!, h, [], h), `${i}/${s}`).toBe(false);
    }
    expect(verifyInclusion(0, 1, h.subarray(0, 31), [], h)).toBe(false);
    expect(() => tree(8).inclusionProof(8)).toThrow();
    expect(() => tree(8).inclusionProof(3, 9)).toThrow();
    expect(() => tree(8).inclusionProof(3, 3)).toThrow();
  });
});

describe('consistency proofs', () => {
  it('generates and verifies the reference proofs', () => {
    const t = tree(8);
    for (const v of CONSISTENCY) {
      expect(t.consistencyProof(v.oldSize, v.newSize).map(hex), `${v.oldSize}->${v.newSize}`).toEqual(v.proof);
      expect(verifyConsistency(v.oldSize, v.newSize, unhex(ROOTS[v.oldSize]!), unhex(ROOTS[v.newSize]!), v.proof.map(unhex))).toBe(true);
    }
  });

  it('handles the trivial cases by the rules: empty proof, equal roots, the empty tree', () => {
    const t = tree(8);
    const r = (n: number): Buffer => unhex(ROOTS[n]!);
    expect(t.consistencyProof(8)).toEqual([]);
    expect(t.consistencyProof(0)).toEqual([]);
    expect(verifyConsistency(8, 8, r(8), r(8), [])).toBe(true);
    expect(verifyConsistency(8, 8, r(8), r(7), [])).toBe(false);
    expect(verifyConsistency(8, 8, r(8), r(8), [r(8)])).toBe(false);
    expect(verifyConsistency(0, 8, emptyRoot(), r(8), [])).toBe(true);
    expect(verifyConsistency(0, 8, r(1), r(8), [])).toBe(false);
    expect(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), [emptyRoot()])).toBe(false);
    expect(verifyConsistency(2, 1, r(2), r(1), [])).toBe(false);
    expect(verifyConsistency(1, 2, r(1), r(2), [])).toBe(false);
    expect(() => t.consistencyProof(9)).toThrow();
    expect(() => t.consistencyProof(3, 9)).toThrow();
  });

  it('rejects tampered proofs, swapped roots and wrong sizes', () => {
    for (const v of CONSISTENCY) {
      const proof = v.proof.map(unhex);
      const r1 = unhex(ROOTS[v.oldSize]!);
      const r2 = unhex(ROOTS[v.newSize]!);
      const bad: [number, number, Buffer, Buffer, Buffer[]][] = [
        [v.oldSize - 1, v.newSize, r1, r2, proof],
        [v.oldSize + 1, v.newSize, r1, r2, proof],
        [v.oldSize ^ 2, v.newSize, r1, r2, proof],
        [v.oldSize, v.newSize * 2, r1, r2, proof],
        [v.oldSize, Math.floor(v.newSize / 2), r1, r2, proof],
        [v.oldSize, v.newSize, r2, r1, proof],
        [v.oldSize, v.newSize, emptyRoot(), r2, proof],
        [v.oldSize, v.newSize, r1, emptyRoot(), proof],
        [v.oldSize, v.newSize, r1, r2, []],
        [v.oldSize, v.newSize, r1, r2, [...proof, r1]],
        [v.oldSize, v.newSize, r1, r2, [r2, ...proof]],
        [v.oldSize, v.newSize, r1, r2, [proof[0]!, ...proof]],
        [v.oldSize, v.newSize, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, i): [number, number, Buffer, Buffer, Buffer[]] => {
          const flipped = proof.map((p) => Buffer.from(p));
          flipped[i]![0]! ^= 16;
          return [v.oldSize, v.newSize, r1, r2, flipped];
        }),
      ];
      for (const [a, b, x, y, p] of bad) expect(verifyConsistency(a, b, x, y, p), `${a}->${b}`).toBe(false);
    }
  });
});

describe('sizes beyond 32 bits', () => {
  it('verifies proofs whose index and size need more than 32 bits (no bitwise shifts)', () => {
    // Size 2^33 + 1: a complete left subtree of 2^33 leaves (hash L) and one leaf on the right.
    const L = leafHash(Buffer.from('left subtree stand-in'));
    const leaf = leafHash(Buffer.from('last'));
    const n = 2 ** 33;
    expect(verifyInclusion(n, n + 1, leaf, [L], nodeHash(L, leaf))).toBe(true);
    expect(verifyInclusion(n - 1, n + 1, leaf, [L], nodeHash(L, leaf))).toBe(false);
    expect(verifyConsistency(n, n + 1, L, nodeHash(L, leaf), [leaf])).toBe(true);
    expect(verifyConsistency(n, n + 1, L, nodeHash(leaf, L), [leaf])).toBe(false);
    expect(verifyConsistency(n - 1, n + 1, L, nodeHash(L, leaf), [leaf])).toBe(false);
    expect(verifyInclusion(2 ** 53, 2 ** 53 + 1, leaf, [L], nodeHash(L, leaf))).toBe(false); // not a safe integer
  });
});

describe('against a naive recursive implementation', () => {
  const hashes = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
  const big = new MerkleTree(hashes);

  it('agrees on every root, audit path and consistency proof for sizes 1..70, and all verify', () => {
    for (let n = 1; n <= 70; n++) {
      const d = hashes.slice(0, n);
      const root = naive.mth(d);
      expect(hex(big.root(n)), `root ${n}`).toBe(hex(root));
      expect(hex(new MerkleTree(d).root())).toBe(hex(root));
      for (let m = 0; m < n; m++) {
        const proof = big.inclusionProof(m, n);
        expect(proof.map(hex), `path ${m}/${n}`).toEqual(naive.path(m, d).map(hex));
        expect(verifyInclusion(m, n, d[m]!, proof, root)).toBe(true);
        expect(verifyInclusion(m, n, d[(m + 1) % n]!, proof, root) && n > 1).toBe(false);
      }
      for (let m = 1; m < n; m++) {
        const proof = big.consistencyProof(m, n);
        expect(proof.map(hex), `consistency ${m}->${n}`).toEqual(naive.subproof(m, d, true).map(hex));
        const oldRoot = naive.mth(hashes.slice(0, m));
        expect(verifyConsistency(m, n, oldRoot, root, proof)).toBe(true);
        expect(verifyConsistency(m, n, root, oldRoot, proof)).toBe(false);
      }
    }
  });

  it('gives any older size of a large tree the root a tree of just that size has', () => {
    const many = Array.from({ length: 3000 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
    const t = new MerkleTree(many);
    for (const n of [1, 2, 3, 255, 256, 257, 511, 1024, 1025, 2047, 2048, 2049, 2999, 3000]) {
      expect(hex(t.root(n)), `root(${n})`).toBe(hex(new MerkleTree(many.slice(0, n)).root()));
    }
    expect(hex(t.root(1500))).toBe(hex(naive.mth(many.slice(0, 1500))));
  });

  it('exports each level as the stored complete-subtree hashes', () => {
    expect(big.levelHashes(0, 0, 70)).toEqual(Buffer.concat(hashes));
    expect(big.levelHashes(3, 2, 3)).toEqual(naive.mth(hashes.slice(16, 24)));
    expect(() => big.levelHashes(3, 0, 9)).toThrow();
  });
});
