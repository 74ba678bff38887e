import { describe, expect, it } from 'vitest';
import { checkComponentName, componentFromRepository } from '../../../src/protocol/github/component.js';

describe('component names', () => {
  it('strips one leading qubes- from the repository name', () => {
    expect(componentFromRepository('QubesOS/qubes-core-admin')).toBe('core-admin');
    expect(componentFromRepository('QubesOS/qubes-qubes-x')).toBe('qubes-x');
    expect(componentFromRepository('Codertocat/Hello-World')).toBe('Hello-World');
    expect(componentFromRepository('linux-kernel')).toBe('linux-kernel');
    expect(componentFromRepository('QubesOS/not_qubes-x')).toBe('not_qubes-x');
    expect(() => componentFromRepository('a/b/qubes-x')).toThrow(/OWNER\/NAME/);
  });

  it('rejects names that are empty, too long or have other characters', () => {
    expect(() => componentFromRepository('QubesOS/qubes-')).toThrow(/empty/);
    expect(() => componentFromRepository('o/qubes-builder.v2')).toThrow(/invalid component/);
    expect(() => checkComponentName('a'.repeat(65))).toThrow(/longer than 64/);
    expect(checkComponentName('a'.repeat(64))).toHaveLength(64);
    for (const bad of ['..', 'a b', 'a/b', 'a+b', 'ä', 'a\n']) expect(() => checkComponentName(bad)).toThrow();
  });
});
