/**
 * A seeded xorshift32 generator (Marsaglia 2003) for randomized tests: reproducible runs,
 * full 32-bit state, good low bits (unlike `seed * a + c & 0x7fffffff`, whose low bits cycle
 * with period 2^k and whose product overflows a double's 53-bit mantissa).
 * `rnd(n)` returns an integer 0 ≤ r < n.
 */
export function xorshift32(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1; // the all-zero state is a fixed point
  return (n: number): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}
