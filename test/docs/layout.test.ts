/**
 * docs/design.md §11's layout, as imports: the renderers, the pure formats and the helpers sit
 * below the roles (the provisioning plan they share lives in src/protocol/plan/), and roles
 * never import each other.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/binary.js';

const SRC = join(repoRoot, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const abs = join(dir, name);
    return statSync(abs).isDirectory() ? tsFiles(abs) : name.endsWith('.ts') ? [abs] : [];
  });
}

/** Each relative import (static `from '…'` and dynamic `import('…')`) of a file, as a path under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)]
    .map((m) => relative(SRC, resolve(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
}

const edges = tsFiles(SRC).flatMap((f) => importsOf(f).map((to) => ({ from: relative(SRC, f), to })));

describe('layout (docs/design.md §11)', () => {
  it('finds the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(edges).toContainEqual({ from: 'salt/formula.ts', to: 'protocol/plan/plan.ts' });
  });

  it('src/salt, src/protocol, src/util and src/config.ts import nothing from src/roles', () => {
    const below = (p: string) => /^(salt|protocol|util)\//.test(p) || p === 'config.ts' || p === 'errors.ts';
    expect(edges.filter((e) => below(e.from) && e.to.startsWith('roles/'))).toEqual([]);
  });

  it('a role imports no other role', () => {
    const roleOf = (p: string) => /^roles\/([^/]+)\//.exec(p)?.[1];
    expect(edges.filter((e) => roleOf(e.from) && roleOf(e.to) && roleOf(e.from) !== roleOf(e.to))).toEqual([]);
  });

  it('the plan has one home, below dom0 and the renderers', () => {
    expect(existsSync(join(SRC, 'roles', 'dom0', 'plan.ts'))).toBe(false);
    expect(edges.filter((e) => e.to === 'roles/dom0/plan.ts')).toEqual([]);
  });
});
