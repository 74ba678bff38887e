import { QbuildError } from '../../errors.js';

/**
 * Debian control-file paragraphs (deb822, as Packages and Sources indices hold them), kept
 * as their exact text so that a paragraph written back is byte-identical. Pure.
 */
export interface Paragraph {
  /** The paragraph's lines, each ending in `\n`, without the blank separator line. */
  text: string;
  /** Field name (case as written) → value with continuation lines joined by `\n`. */
  fields: Map<string, string>;
}

/**
 * Splits an index into paragraphs. Rules (deb822, as apt-ftparchive writes them):
 * - paragraphs are separated by one or more blank lines;
 * - a field line is `Name: value`, Name being printable ASCII without `:` and not starting
 *   with `-` or `#`; a line starting with space or tab continues the previous field;
 * - a field name appears at most once in a paragraph, compared case-insensitively (Debian
 *   Policy §5.1: readers that took the first and the last value would disagree);
 * - anything else (a continuation before any field, a line without `:`) is refused, naming
 *   the line: an index we cannot read is never rewritten.
 */
export function parseParagraphs(index: string): Paragraph[] {
  const out: Paragraph[] = [];
  let lines: string[] = [];
  let fields = new Map<string, string>();
  let last: string | undefined;
  const flush = () => {
    if (lines.length) out.push({ text: lines.map((l) => `${l}\n`).join(''), fields });
    lines = [];
    fields = new Map();
    last = undefined;
  };
  const all = index.split('\n');
  if (all[all.length - 1] === '') all.pop();
  all.forEach((line, i) => {
    if (/^[ \t]*$/.test(line)) { flush(); return; }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last === undefined) throw new QbuildError('bad-input', `index line ${i + 1}: continuation line before any field`);
      fields.set(last, `${fields.get(last)}\n${line}`);
    } else {
      const m = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/.exec(line);
      if (!m || line[0] === '-' || line[0] === '#') throw new QbuildError('bad-input', `index line ${i + 1}: not a field: ${JSON.stringify(line.slice(0, 80))}`);
      last = m[1]!;
      if (field({ text: '', fields }, last) !== undefined) throw new QbuildError('bad-input', `index line ${i + 1}: field ${last} given twice in one paragraph`);
      fields.set(last, m[2]!);
    }
    lines.push(line);
  });
  flush();
  return out;
}

/** A field's value, matched case-insensitively as deb822 field names are. */
export function field(p: Paragraph, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of p.fields) if (k.toLowerCase() === want) return v;
  return undefined;
}

/** Paragraphs written back as an index: each followed by one blank line. */
export function formatParagraphs(ps: readonly Paragraph[]): string {
  return ps.map((p) => `${p.text}\n`).join('');
}
