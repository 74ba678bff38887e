import type { SignatureVerdict } from './verify-signature.js';

/** One `v*` tag on the head and what its signature proved. */
export interface TagVerdict {
  tag: string;
  verdict: SignatureVerdict;
}

export type Decision =
  | { ok: true; tag: string; version: string; signers: string[] }
  | { ok: false; reason: string };

/**
 * N of M, as upstream: every annotated `v*` tag on the head carries at most one maintainer's
 * signature, and the distinct maintainers over the good ones must number at least
 * `minSignatures` (never less than 1). A bad tag beside enough good ones is reported, not
 * fatal (upstream prints "Invalid tag" and goes on). The version tag is the shortest good
 * tag name (then the first by name): co-signers add tags such as `v1.2.0-bob` beside
 * `v1.2.0`. Pure: verdicts in, decision out.
 */
export function decide(verdicts: TagVerdict[], minSignatures: number): Decision {
  const need = Math.max(1, minSignatures);
  const good = verdicts.filter((v) => v.verdict.ok);
  const signers = [...new Set(good.map((v) => (v.verdict.ok ? v.verdict.maintainer.fingerprint : '')))].sort();
  if (signers.length < need) {
    const bad = verdicts.filter((v) => !v.verdict.ok).map((v) => `${v.tag}: ${v.verdict.ok ? '' : v.verdict.reason}`);
    const found = `${signers.length} distinct maintainer signature${signers.length === 1 ? '' : 's'}, ${need} required`;
    return { ok: false, reason: bad.length ? `${found} (${bad.join('; ')})` : found };
  }
  const chosen = good.map((v) => v.tag).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))[0]!;
  return { ok: true, tag: chosen, version: chosen.slice(1), signers };
}
