import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../../src/util/did-you-mean.js';

describe('did you mean', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('sign-key', 'sign-key')).toBe(0);
    expect(editDistance('signkey', 'sign-key')).toBe(1);
    expect(editDistance('volum-siz', 'volume-size')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests the closest name within 2 edits, the earlier on a tie, none beyond', () => {
    expect(closestName('relase', ['logs', 'release', 'repository'])).toBe('release');
    expect(closestName('ab', ['ax', 'ay'])).toBe('ax');
    expect(closestName('colour', ['logs', 'release'])).toBeUndefined();
  });
});
