/**
 * Domain tokens of the Qubes 4.1+ policy format: what may stand in the SOURCE and TARGET
 * columns and in the `target=` / `default_target=` parameters. Pure: text in, typed token out.
 *
 *   parseToken(text, 'source' | 'target' | 'redirect', where) → Token (or QbuildError 'policy-syntax')
 *
 * `dom0` and `@adminvm` are the same token ({kind:'adminvm'}), as upstream matches them
 * interchangeably. Upstream facts: qubes-core-qrexec qrexec/policy/parser.py (VMToken classes).
 */
import { QbuildError } from '../../../errors.js';
import { hasVmNameShape } from '../names.js';

export type Token =
  | { kind: 'vm'; name: string }              // a qube by name (never dom0: that is 'adminvm')
  | { kind: 'any' }                           // `*`: everything, dom0 and keywords included
  | { kind: 'anyvm' }                         // `@anyvm`: every qube except dom0
  | { kind: 'adminvm' }                       // `@adminvm` or `dom0`
  | { kind: 'default' }                       // `@default`: the caller named no target
  | { kind: 'type'; type: string }            // `@type:T`
  | { kind: 'tag'; tag: string }              // `@tag:T`
  | { kind: 'dispvm' }                        // `@dispvm`: a disposable from the caller's default template
  | { kind: 'dispvm-of'; template: string }   // `@dispvm:VM`
  | { kind: 'dispvm-tag'; tag: string };      // `@dispvm:@tag:T`

/** Where a token appears; each place admits a different subset (as upstream's class hierarchy). */
export type TokenPlace = 'source' | 'target' | 'redirect';

export type SourceToken = Exclude<Token, { kind: 'default' } | { kind: 'dispvm' }>;
export type TargetToken = Token;
export type RedirectToken = Extract<Token, { kind: 'vm' } | { kind: 'adminvm' } | { kind: 'dispvm' } | { kind: 'dispvm-of' }>;

/** Which token kinds each place admits. */
const ALLOWED: Record<TokenPlace, ReadonlySet<Token['kind']>> = {
  /** SOURCE: anything but `@default` and bare `@dispvm` (a caller is always a concrete qube). */
  source: new Set(['vm', 'any', 'anyvm', 'adminvm', 'type', 'tag', 'dispvm-of', 'dispvm-tag']),
  /** TARGET: every token. */
  target: new Set(['vm', 'any', 'anyvm', 'adminvm', 'default', 'type', 'tag', 'dispvm', 'dispvm-of', 'dispvm-tag']),
  /** `target=`/`default_target=`: one concrete destination (a qube, dom0, or a disposable). */
  redirect: new Set(['vm', 'adminvm', 'dispvm', 'dispvm-of']),
};

const LABEL_RE = /^[A-Za-z0-9_.-]+$/;

/** Thrown as `<file>:<line>: <what>`; `where` is the `<file>:<line>` prefix. */
export function syntaxError(where: string, what: string): never {
  throw new QbuildError('policy-syntax', `${where}: ${what}`);
}

/** A qube name: starts with a letter, then `[A-Za-z0-9_.-]`, at most 31 characters (Qubes' limit). */
function checkVmName(name: string, where: string, place: TokenPlace): string {
  if (!hasVmNameShape(name)) syntaxError(where, `invalid ${place} token ${JSON.stringify(name)}: not a qube name`);
  return name;
}

/** A tag or type value is non-empty `[A-Za-z0-9_.-]` (so it cannot start with `@`). */
function checkLabel(value: string, token: string, where: string): string {
  if (!value) syntaxError(where, `invalid empty value in ${JSON.stringify(token)}`);
  if (!LABEL_RE.test(value)) syntaxError(where, `invalid value in ${JSON.stringify(token)}: allowed characters are A-Z a-z 0-9 _ . -`);
  return value;
}

function classify(text: string, where: string, place: TokenPlace): Token {
  if (text === '*') return { kind: 'any' };
  if (text === 'dom0' || text === '@adminvm') return { kind: 'adminvm' };
  if (text === '@anyvm') return { kind: 'anyvm' };
  if (text === '@default') return { kind: 'default' };
  if (text === '@dispvm') return { kind: 'dispvm' };
  if (text.startsWith('@dispvm:@tag:')) return { kind: 'dispvm-tag', tag: checkLabel(text.slice(13), text, where) };
  if (text.startsWith('@dispvm:')) {
    const template = text.slice(8);
    if (!template) syntaxError(where, `invalid empty value in ${JSON.stringify(text)}`);
    if (!hasVmNameShape(template)) syntaxError(where, `invalid ${place} token ${JSON.stringify(text)}: not a qube name after @dispvm:`);
    return { kind: 'dispvm-of', template };
  }
  if (text.startsWith('@tag:')) return { kind: 'tag', tag: checkLabel(text.slice(5), text, where) };
  if (text.startsWith('@type:')) return { kind: 'type', type: checkLabel(text.slice(6), text, where) };
  /** Any other `@` word is an unknown keyword, never a qube name. */
  if (text.startsWith('@')) syntaxError(where, `invalid ${place} token ${JSON.stringify(text)}: unknown keyword`);
  return { kind: 'vm', name: checkVmName(text, where, place) };
}

/** Parses one token and checks it is admitted in `place` (see ALLOWED). */
export function parseToken(text: string, place: 'source', where: string): SourceToken;
export function parseToken(text: string, place: 'target', where: string): TargetToken;
export function parseToken(text: string, place: 'redirect', where: string): RedirectToken;
export function parseToken(text: string, place: TokenPlace, where: string): Token {
  if (!text) syntaxError(where, `invalid empty ${place} token`);
  const token = classify(text, where, place);
  if (!ALLOWED[place].has(token.kind)) {
    syntaxError(where, `invalid ${place} token ${JSON.stringify(text)}: not allowed here`);
  }
  return token;
}

/** The token as it would be written in a policy file (dom0 is written `@adminvm`). */
export function formatToken(t: Token): string {
  switch (t.kind) {
    case 'vm': return t.name;
    case 'any': return '*';
    case 'anyvm': return '@anyvm';
    case 'adminvm': return '@adminvm';
    case 'default': return '@default';
    case 'type': return `@type:${t.type}`;
    case 'tag': return `@tag:${t.tag}`;
    case 'dispvm': return '@dispvm';
    case 'dispvm-of': return `@dispvm:${t.template}`;
    case 'dispvm-tag': return `@dispvm:@tag:${t.tag}`;
  }
}
