import { describe, expect, it } from 'vitest';
import { decide, type TagVerdict } from '../../../../src/roles/build/fetch/verdict.js';
import type { MaintainerKey } from '../../../../src/roles/build/fetch/maintainer-keys.js';

const key = (fingerprint: string) => ({ fingerprint, uid: fingerprint, key: undefined as never }) as MaintainerKey;
const good = (tag: string, fpr: string): TagVerdict => ({ tag, verdict: { ok: true, maintainer: key(fpr), signingKey: fpr, created: new Date(0) } });
const bad = (tag: string, reason: string): TagVerdict => ({ tag, verdict: { ok: false, reason } });

describe('decide (N of M)', () => {
  it('counts distinct maintainers, not tags', () => {
    expect(decide([good('v1', 'A'), good('v1-x', 'A')], 2)).toEqual({ ok: false, reason: '1 distinct maintainer signature, 2 required' });
    expect(decide([good('v1-b', 'B'), good('v1', 'A')], 2)).toEqual({ ok: true, tag: 'v1', version: '1', signers: ['A', 'B'] });
  });

  it('names every bad tag when too few maintainers signed', () => {
    expect(decide([bad('v1', 'unsigned'), bad('v1-b', 'revoked')], 1))
      .toEqual({ ok: false, reason: '0 distinct maintainer signatures, 1 required (v1: unsigned; v1-b: revoked)' });
  });

  it('takes the shortest good tag name as the version, and never requires fewer than one', () => {
    expect(decide([good('v2.0.0-bob', 'B'), bad('v2', 'unsigned'), good('v2.0.0', 'A')], 0))
      .toMatchObject({ ok: true, tag: 'v2.0.0', version: '2.0.0' });
    expect(decide([], 0)).toMatchObject({ ok: false, reason: '0 distinct maintainer signatures, 1 required' });
  });
});
