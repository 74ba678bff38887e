import { FORM_TOKEN, formFromToken, type SignForm } from '../signform.js';

/**
 * The strict line record that tickets (v1, v2) and ledger entries share: a magic first line,
 * then `key value` header lines in a fixed order, then record-specific lines, among them
 * `sign <form>:<hex> <label>` lines. Every line ends with LF, single spaces, nothing optional,
 * so a record has one spelling. Each format passes its own `bad` (its error prefix) and checks
 * its values itself; these helpers only read and write the line structure.
 */

export type Bad = (why: string) => never;

/** A `sign` line's fields: a digest in a form, and its label. */
export interface SignLine {
  /** What the digest is of: the form a signature of these bytes binds (src/protocol/signform.ts). */
  form: SignForm;
  sha256: string;
  label: string;
}

/** The record text: the magic line, `key value` per header key (in `keys` order), the other lines, each ending with LF. */
export function formatRecord<K extends string>(magic: string, keys: readonly K[], values: Record<K, string>, rest: readonly string[]): string {
  return `${[magic, ...keys.map((k) => `${k} ${values[k]}`), ...rest].join('\n')}\n`;
}

/** `sign <form token>:<hex> <label>`. */
export function formatSignLine(d: SignLine): string {
  return `sign ${FORM_TOKEN[d.form]}:${d.sha256} ${d.label}`;
}

/** Rules: the text ends with a newline and its first line is exactly `magic`. Returns all its lines (magic at index 0). */
export function recordLines(text: string, magic: string, bad: Bad): string[] {
  if (!text.endsWith('\n')) bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== magic) bad(`first line must be "${magic}"`);
  return lines;
}

/**
 * Rules: lines 2.. are the header `keys`, each exactly once, in that order, each
 * `key SP value` with one non-empty value and no other space.
 */
export function readHeader<K extends string>(lines: readonly string[], keys: readonly K[], bad: Bad): Record<K, string> {
  const values = {} as Record<K, string>;
  keys.forEach((key, i) => {
    const line = lines[i + 1];
    if (line === undefined) bad(`missing "${key}" line`);
    const sp = line.indexOf(' ');
    if (sp < 0 || line.slice(0, sp) !== key) bad(`line ${i + 2}: expected "${key} <value>"`);
    const value = line.slice(sp + 1);
    if (value === '' || value.includes(' ')) bad(`line ${i + 2}: "${key}" takes exactly one value`);
    values[key] = value;
  });
  return values;
}

/**
 * Rules: every line from index `from` to the end is `sign <form>:<hex> <label>`, three fields,
 * form exactly `sha256`, `text-sha256` or `clearsign-sha256`. The hex and label are returned
 * as written: the record's own checks judge them. `hint` ends the error message.
 */
export function readSignLines(lines: readonly string[], from: number, bad: Bad, hint = ''): SignLine[] {
  const out: SignLine[] = [];
  for (let i = from; i < lines.length; i++) {
    const parts = lines[i]!.split(' ');
    const colon = parts[1]?.indexOf(':') ?? -1;
    const form = colon > 0 ? formFromToken(parts[1]!.slice(0, colon)) : undefined;
    if (parts.length !== 3 || parts[0] !== 'sign' || !form) {
      bad(`line ${i + 1}: expected "sign <sha256|text-sha256|clearsign-sha256>:<hex> <label>"${hint}`);
    }
    out.push({ form, sha256: parts[1]!.slice(colon + 1), label: parts[2]! });
  }
  return out;
}
