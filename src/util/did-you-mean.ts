/** Levenshtein distance (insert, delete, substitute: 1 each); inputs are short key names. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate to a mistyped name, if one is within `max` edits (default 2): the
 * hint for `did you mean "X"?`. Ties go to the earlier candidate; none close gives undefined.
 */
export function closestName(name: string, candidates: readonly string[], max = 2): string | undefined {
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return best;
}
