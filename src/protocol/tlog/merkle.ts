import { createHash, hash } from 'node:crypto';
import { QbuildError } from '../../errors.js';

/**
 * RFC 6962 / RFC 9162 §2.1 Merkle tree hashing, audit paths and consistency proofs.
 *
 *   leaf hash  SHA-256(0x00 || entry)
 *   node hash  SHA-256(0x01 || left || right)
 *   MTH({})    SHA-256()                       (the empty tree)
 *   MTH(D[n])  node(MTH(D[0:k]), MTH(D[k:n]))  k = the largest power of two < n
 *
 * MerkleTree keeps, per level, the hash of every complete subtree (level L, index i covers
 * leaves [i·2^L, (i+1)·2^L)) in one flat buffer per level, the way tiles store them. Every
 * subtree the recursion above asks for is then either stored (a complete, aligned subtree)
 * or splits into a stored left half and a shorter right part, so a root of any size, an
 * audit path and a consistency proof each cost O(log n) hashes, and append is O(1)
 * amortised. Pure: node:crypto only.
 */

export const HASH_SIZE = 32;

/** Reused 0x00 || entry input for entries up to 64 KiB (bigger ones hash with createHash). */
const leafInput = Buffer.alloc(1 + 0x10000);
/** One reused 0x01 || left || right input: one-shot crypto.hash is ~2x faster than createHash here. */
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/** SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Buffer {
  if (entry.length >= leafInput.length) return createHash('sha256').update(leafInput.subarray(0, 1)).update(entry).digest();
  leafInput.set(entry, 1);
  return hash('sha256', leafInput.subarray(0, 1 + entry.length), 'buffer');
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return createHash('sha256').update(nodeInput.subarray(0, 1)).update(left).update(right).digest();
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/** The root of the empty tree: SHA-256 of nothing. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Exact for every safe integer (a float log2 would round 2^53 - 1 up to 53). */
function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

function misuse(why: string): never {
  throw new QbuildError('internal', `merkle: ${why}`);
}

/** One level's complete-subtree hashes, contiguous, growing by doubling. */
class Level {
  private buf = Buffer.alloc(HASH_SIZE * 16);
  count = 0;

  push(h: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.buf.length) {
      const bigger = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.count * HASH_SIZE);
      this.buf = bigger;
    }
    this.buf.set(h, this.count * HASH_SIZE);
    this.count++;
  }

  /** A view (not a copy): callers inside this module never mutate it. */
  at(i: number): Buffer {
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }

  /** The hashes [from, to) concatenated (a copy). */
  slice(from: number, to: number): Buffer {
    return Buffer.from(this.buf.subarray(from * HASH_SIZE, to * HASH_SIZE));
  }
}

export class MerkleTree {
  /** levels[L] holds the complete subtrees of 2^L leaves; levels[0] the leaf hashes. */
  private readonly levels: Level[] = [new Level()];

  constructor(leafHashes: Buffer[] = []) {
    for (const h of leafHashes) this.append(h);
  }

  get size(): number {
    return this.levels[0]!.count;
  }

  /** Appends a leaf hash (32 bytes); returns its index. Completes every subtree it closes. */
  append(leafHash: Uint8Array): number {
    if (leafHash.length !== HASH_SIZE) misuse(`leaf hash must be ${HASH_SIZE} bytes`);
    const index = this.size;
    this.levels[0]!.push(leafHash);
    let i = index;
    let level = 0;
    while (i % 2 === 1) {
      const below = this.levels[level]!;
      const parent = nodeHash(below.at(i - 1), below.at(i));
      level++;
      i = (i - 1) / 2;
      if (!this.levels[level]) this.levels.push(new Level());
      this.levels[level]!.push(parent);
    }
    return index;
  }

  /** The leaf hash at index i (a copy). */
  leafHashAt(i: number): Buffer {
    this.checkIndex(i, this.size);
    return Buffer.from(this.levels[0]!.at(i));
  }

  /**
   * The stored hashes of level L, indexes [from, to) concatenated: level L index i is
   * MTH(D[i·2^L : (i+1)·2^L]). Used to write tiles.
   */
  levelHashes(level: number, from: number, to: number): Buffer {
    const l = this.levels[level];
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to > (l?.count ?? 0)) {
      misuse(`level ${level} range [${from}, ${to}) not stored`);
    }
    return l ? l.slice(from, to) : Buffer.alloc(0);
  }

  /** MTH(D[0:size]) for any size ≤ the current size (default: the current size). */
  root(size: number = this.size): Buffer {
    this.checkSize(size);
    if (size === 0) return emptyRoot();
    return Buffer.from(this.subtree(0, size));
  }

  /** RFC 9162 §2.1.3.1 PATH(index, D[0:size]): the audit path of leaf `index` in the tree of `size`. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize(size);
    this.checkIndex(index, size);
    const out: Buffer[] = [];
    this.path(index, 0, size, out);
    return out.reverse().map((h) => Buffer.from(h));
  }

  /**
   * RFC 9162 §2.1.4.1 PROOF(oldSize, D[0:newSize]). Empty when oldSize is 0 or equals newSize
   * (nothing to prove: every tree extends the empty tree and itself).
   */
  consistencyProof(oldSize: number, newSize: number = this.size): Buffer[] {
    this.checkSize(newSize);
    if (!Number.isInteger(oldSize) || oldSize < 0 || oldSize > newSize) misuse(`old size ${oldSize} not in 0..${newSize}`);
    if (oldSize === 0 || oldSize === newSize) return [];
    const out: Buffer[] = [];
    this.subproof(oldSize, 0, newSize, true, out);
    return out.reverse().map((h) => Buffer.from(h));
  }

  /** MTH(D[lo:hi]); lo is aligned so the left part of every split is a stored subtree. */
  private subtree(lo: number, hi: number): Buffer {
    const n = hi - lo;
    if (isPowerOfTwo(n) && lo % n === 0) {
      const level = Math.round(Math.log2(n));
      return this.levels[level]!.at(lo / n);
    }
    const k = splitPoint(n);
    return nodeHash(this.subtree(lo, lo + k), this.subtree(lo + k, hi));
  }

  /** Appends PATH(m, D[lo:hi]) to out, deepest element LAST (the caller reverses). */
  private path(m: number, lo: number, hi: number, out: Buffer[]): void {
    const n = hi - lo;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      out.push(this.subtree(lo + k, hi));
      this.path(m, lo, lo + k, out);
    } else {
      out.push(this.subtree(lo, lo + k));
      this.path(m - k, lo + k, hi, out);
    }
  }

  /** Appends SUBPROOF(m, D[lo:hi], b) to out, in reverse order (the caller reverses). */
  private subproof(m: number, lo: number, hi: number, b: boolean, out: Buffer[]): void {
    const n = hi - lo;
    if (m === n) {
      if (!b) out.push(this.subtree(lo, hi));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      out.push(this.subtree(lo + k, hi));
      this.subproof(m, lo, lo + k, b, out);
    } else {
      out.push(this.subtree(lo, lo + k));
      this.subproof(m - k, lo + k, hi, false, out);
    }
  }

  private checkSize(size: number): void {
    if (!Number.isInteger(size) || size < 0 || size > this.size) misuse(`tree size ${size} not in 0..${this.size}`);
  }

  private checkIndex(i: number, size: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= size) misuse(`leaf index ${i} not in 0..${size - 1}`);
  }
}

/** A tree size or leaf index as outside input gives it: a non-negative safe integer. */
function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isHash(h: Uint8Array): boolean {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

/** Halves a non-negative integer (exact for every safe integer, unlike `>>`). */
const half = (n: number): number => Math.floor(n / 2);
const odd = (n: number): boolean => n % 2 === 1;

/**
 * RFC 9162 §2.1.3.2: does `proof` show leaf `leafHash` at `index` in the tree of `size` with
 * root `root`? Rules: index and size are non-negative integers and index < size (so a size-0
 * tree proves nothing); every hash is 32 bytes; the path must be exactly as long as the tree
 * needs (sn reaches 0 exactly when the path ends) and reproduce the root.
 */
export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: Uint8Array[], root: Uint8Array): boolean {
  if (!isCount(index) || !isCount(size) || index >= size) return false;
  if (!isHash(leafHash) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree of `newSize` with `newRoot` extends the tree
 * of `oldSize` with `oldRoot`? Rules: sizes are non-negative integers with oldSize ≤ newSize;
 * every hash is 32 bytes. oldSize 0: the proof is empty and oldRoot is the empty root (every
 * tree extends the empty one). oldSize = newSize: the proof is empty and the roots are equal.
 * Otherwise the proof is non-empty, has exactly the needed length, and reproduces both roots.
 */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: Uint8Array[]): boolean {
  if (!isCount(oldSize) || !isCount(newSize) || oldSize > newSize) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !proof.every(isHash)) return false;
  if (oldSize === 0) return proof.length === 0 && emptyRoot().equals(oldRoot);
  if (oldSize === newSize) return proof.length === 0 && Buffer.from(oldRoot).equals(newRoot);
  if (proof.length === 0) return false;
  const path: Uint8Array[] = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}
