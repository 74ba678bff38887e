import { describe, expect, it } from 'vitest';
import { checkBranchName, checkSourceUrl, isVersionTagName } from '../../../../src/roles/build/fetch/ref-names.js';

describe('fetch name rules', () => {
  it('accepts branch names as upstream and git allow them, and refuses the rest', () => {
    for (const ok of ['main', 'release4.2', 'feature/x_y-z', 'r4.3']) expect(() => checkBranchName(ok)).not.toThrow();
    for (const bad of ['', '-x', '.hidden', 'a..b', 'a//b', 'a/.b', 'x.lock', 'a/', 'a.', 'a b', 'a~1', 'a:b', 'x'.repeat(256)]) {
      expect(() => checkBranchName(bad), bad).toThrow(/invalid branch name/);
    }
  });

  it('knows a version tag: v, a digit, then [0-9A-Za-z._+-]', () => {
    for (const ok of ['v1', 'v4.2.10', 'v4.2.10-1', 'v1.0.0+rc1', 'v2_0']) expect(isVersionTagName(ok), ok).toBe(true);
    for (const bad of ['v', 'version-1', 'vx1', '1.0', 'v1..2', 'v1.', 'v1.lock', 'v1/2', 'v1 2', `v1${'0'.repeat(128)}`]) {
      expect(isVersionTagName(bad), bad).toBe(false);
    }
  });

  it('fetches only http(s) URLs without credentials', () => {
    expect(checkSourceUrl('https://github.com/QubesOS/qubes-core-admin').hostname).toBe('github.com');
    expect(() => checkSourceUrl('ssh://git@github.com/x')).toThrow(/only http: and https:/);
    expect(() => checkSourceUrl('not a url')).toThrow(/invalid source URL/);
    expect(() => checkSourceUrl('https://user:secret@example.com/x.git')).toThrow(/credentials in the URL are refused/);
    expect(() => checkSourceUrl('https://user:secret@example.com/x.git')).not.toThrow(/secret/);
  });
});
