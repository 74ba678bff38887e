/**
 * The docs stand alone: every relative markdown link in README.md and docs/*.md resolves to a
 * file of the repository, and every repository path they quote in code (`src/…`, `test/…`,
 * `docs/…`, `examples/…`, `bench/…`, `.ci/…`) exists, so a moved file cannot leave a page
 * pointing at nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/binary.js';

const pages = ['README.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const text = (page: string) => readFileSync(join(repoRoot, page), 'utf8');

/**
 * Relative link targets of a page (`[x](target)`), without anchors; URLs and pure anchors
 * skipped, and so is markdown quoted in inline code (a message template's `[log](URL)`).
 */
function relativeLinks(markdown: string): string[] {
  return [...markdown.replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!)
    .filter((l) => !/^[a-z][a-z0-9+.-]*:/i.test(l) && !l.startsWith('#'))
    .map((l) => l.split('#')[0]!);
}

/** Repository paths quoted in inline code, e.g. `src/roles/keys/gate.ts` or `src/roles/build/executor/`. */
function quotedRepoPaths(markdown: string): string[] {
  return [...markdown.matchAll(/`((?:src|test|bench|examples|docs|\.ci)\/[A-Za-z0-9_./-]*[A-Za-z0-9_/-])`/g)].map((m) => m[1]!);
}

describe('documentation links', () => {
  it('reads every page', () => {
    expect(pages).toContain('docs/design.md');
    expect(pages).toContain('docs/operator-guide.md');
    expect(pages.length).toBeGreaterThan(10);
  });

  it('every relative link resolves to a file in the repository', () => {
    const links = pages.flatMap((p) => relativeLinks(text(p)).map((l) => ({ page: p, link: l })));
    expect(links.length).toBeGreaterThan(20);
    const broken = links.filter(({ page, link }) => !existsSync(join(repoRoot, dirname(page), link)))
      .map(({ page, link }) => `${page}: ${link}`);
    expect(broken).toEqual([]);
  });

  it('every repository path quoted in code exists', () => {
    const quoted = pages.flatMap((p) => quotedRepoPaths(text(p)).map((q) => ({ page: p, path: q })));
    expect(quoted.length).toBeGreaterThan(20);
    const missing = quoted.filter(({ path }) => !existsSync(join(repoRoot, path))).map(({ page, path }) => `${page}: ${path}`);
    expect(missing).toEqual([]);
  });
});
