/**
 * The operator guide and the threat model name only commands that exist: every `qbuild …` in
 * their code (inline spans, indented or fenced blocks) is checked against the built binary's
 * help (top-level commands and their flags) and the role's own command dispatcher.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qbuildBin, repoRoot } from '../helpers/binary.js';
import { run } from '../helpers/run.js';

const DOCS = ['docs/operator-guide.md', 'docs/threat-model.md'];

/** The code in a markdown text: inline `spans`, 4-space indented lines and fenced blocks. */
function codeOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) { fenced = !fenced; continue; }
    if (fenced || line.startsWith('    ')) { out.push(line); continue; }
    for (const m of line.matchAll(/`([^`]+)`/g)) out.push(m[1]!);
  }
  return out;
}

type Use = { doc: string; words: string[]; flags: string[] };

/** Each `qbuild WORD…` in the code, with the words up to the first non-word and the `--flags` after it. */
function qbuildUses(doc: string): Use[] {
  const uses: Use[] = [];
  for (const code of codeOf(readFileSync(join(repoRoot, doc), 'utf8'))) {
    for (const m of code.matchAll(/(?:^|[\s/'"])qbuild ((?:[a-z][a-z-]*|--[a-z-]+)(?: [^#`|]*)?)/g)) {
      // A command quoted for qvm-run ends in a quote: `'qbuild role logs verifier-key'`.
      const tokens = m[1]!.trim().split(/\s+/).map((t) => t.replace(/['"),.;]+$/, ''));
      const words: string[] = [];
      for (const t of tokens) { if (/^(--)?[a-z][a-z-]*$/.test(t) && !t.startsWith('--')) words.push(t); else break; }
      const flags = tokens.filter((t) => /^--[a-z][a-z-]*$/.test(t)).map((t) => t.replace(/=.*$/, ''));
      uses.push({ doc, words, flags });
    }
  }
  return uses;
}

const uses = DOCS.flatMap(qbuildUses);

async function help(args: string[]): Promise<string> {
  const r = await run(qbuildBin(), [...args, '--help']);
  return r.stdout.toString();
}

describe('commands named in the operator docs', () => {
  it('finds the commands the guide walks through', () => {
    const named = new Set(uses.map((u) => u.words.slice(0, 3).join(' ')));
    for (const c of ['provision', 'role logs init', 'role logs verifier-key', 'role keys import', 'role build ssh-key', 'role build status', 'build']) {
      expect(named, c).toContain(c);
    }
  });

  it('every top-level command and its flags are in the binary\'s help', async () => {
    const top = await help([]);
    const bad: string[] = [];
    for (const u of uses.filter((x) => x.words[0] !== 'role')) {
      const cmd = u.words[0];
      if (cmd === undefined) { if (!u.flags.every((f) => top.includes(f))) bad.push(`${u.doc}: qbuild ${u.flags.join(' ')}`); continue; }
      if (!new RegExp(`^\\s+qbuild ${cmd}\\b`, 'm').test(top)) { bad.push(`${u.doc}: qbuild ${cmd}`); continue; }
      const own = await help([cmd]);
      // yargs lists a boolean --wait as `--wait`; `--no-wait` is its negation.
      for (const f of u.flags) if (!own.includes(f.replace(/^--no-/, '--'))) bad.push(`${u.doc}: qbuild ${cmd} ${f}`);
    }
    expect(bad).toEqual([]);
  });

  it('every `qbuild role ROLE COMMAND` is a command that role dispatches', () => {
    const bad: string[] = [];
    const roleUses = uses.filter((u) => u.words[0] === 'role');
    expect(roleUses.length).toBeGreaterThan(8);
    for (const u of roleUses) {
      const [, role, sub] = u.words;
      const cli = readFileSync(join(repoRoot, 'src/roles', role!, 'cli.ts'), 'utf8');
      for (const w of [sub, ...u.flags].filter((x): x is string => x !== undefined)) {
        if (!cli.includes(`'${w}'`)) bad.push(`${u.doc}: qbuild role ${role} ${w}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
