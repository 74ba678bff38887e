/**
 * The repository's documentation stands alone: every "design §N" cited in code, tests and docs
 * names a section of docs/design.md, and nothing points at a design document outside the repo.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/binary.js';

/** Text files under the given repo paths (directories walked; node_modules and binaries skipped). */
function textFiles(paths: string[]): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const visit = (abs: string): void => {
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (name !== 'node_modules') visit(join(abs, name));
      return;
    }
    const bytes = readFileSync(abs);
    if (bytes.includes(0)) return;
    out.push({ path: relative(repoRoot, abs), text: bytes.toString('utf8') });
  };
  for (const p of paths) visit(join(repoRoot, p));
  return out;
}

/** The section numbers of docs/design.md: its `## N. Title` headings. */
function designSections(markdown: string): Set<number> {
  return new Set([...markdown.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])));
}

/**
 * A citation is "design §N", "design.md §N", "docs/design.md §N" or "[design](design.md) §N"
 * (any case, so a leftover "DESIGN §N" is checked too), optionally followed by more sections
 * ("§4, §9", "§5–§7", "§5 and §6"); a range cites every section in it.
 */
const CITATION = /(?:\[design\]\((?:docs\/)?design\.md\)|(?:docs\/)?design(?:\.md)?)\)?\s*(§\s*\d+(?:\s*(?:,|–|-|and|&)\s*§\s*\d+)*)/gi;

function citedSections(text: string): { section: number; line: number }[] {
  const found: { section: number; line: number }[] = [];
  for (const m of text.matchAll(CITATION)) {
    const line = text.slice(0, m.index).split('\n').length;
    const run = m[1]!;
    const nums = [...run.matchAll(/§\s*(\d+)/g)].map((n) => Number(n[1]));
    const parts = run.split(/§\s*\d+/).slice(1, -1);
    nums.forEach((n, i) => {
      found.push({ section: n, line });
      // "§5–§7": the sections between the ends are cited too.
      const sep = parts[i];
      if (sep !== undefined && /[–-]/.test(sep)) {
        for (let k = n + 1; k < nums[i + 1]!; k++) found.push({ section: k, line });
      }
    });
  }
  return found;
}

const SELF = 'test/docs/design-refs.test.ts';
const design = readFileSync(join(repoRoot, 'docs/design.md'), 'utf8');
const sections = designSections(design);

describe('design references', () => {
  it('docs/design.md has numbered sections 1..N without gaps', () => {
    const nums = [...sections].sort((a, b) => a - b);
    expect(nums.length).toBeGreaterThanOrEqual(10);
    expect(nums).toEqual(nums.map((_, i) => i + 1));
  });

  it('recognises every citation form, lists and ranges', () => {
    const sample = [
      'see design §5.', 'docs/design.md §7', '[design](design.md) §1, §5–§7', 'DESIGN §12',
      '(design §4, §9)', 'design §5 and §6', 'RFC 4880 §7 is not ours', '[docs/design.md](docs/design.md) §3',
    ].join('\n');
    expect(citedSections(sample).map((c) => c.section)).toEqual([5, 7, 1, 5, 6, 7, 12, 4, 9, 5, 6, 3]);
    expect(citedSections(sample).find((c) => c.section === 12)?.line).toBe(4);
  });

  it('every "design §N" in src, test, docs, README.md and build.mjs names an existing section', () => {
    // This file is left out: its sample above cites a missing section on purpose.
    const files = textFiles(['src', 'test', 'docs', 'README.md', 'build.mjs']).filter((f) => f.path !== SELF);
    const cites = files.flatMap((f) => citedSections(f.text).map((c) => ({ ...c, path: f.path })));
    // The code cites the design in many places; finding few means the pattern broke.
    expect(cites.length).toBeGreaterThan(40);
    const dangling = cites.filter((c) => !sections.has(c.section)).map((c) => `${c.path}:${c.line}: §${c.section}`);
    expect(dangling).toEqual([]);
  });

  it('every bare §N inside docs/design.md names one of its own sections', () => {
    const refs = [...design.matchAll(/§\s*(\d+)/g)].map((m) => Number(m[1]));
    expect(refs.length).toBeGreaterThan(5);
    expect(refs.filter((n) => !sections.has(n))).toEqual([]);
  });

  it('nothing in README.md, docs or src refers to a design document outside the repository', () => {
    const hits = textFiles(['README.md', 'docs', 'src']).flatMap((f) =>
      f.text.split('\n').flatMap((l, i) => (/shared\/|DESIGN\.md/.test(l) ? [`${f.path}:${i + 1}: ${l.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });
});
