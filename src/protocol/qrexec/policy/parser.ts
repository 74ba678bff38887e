/**
 * Parser for the Qubes 4.1+ qrexec policy format. Pure: text in, typed rules out.
 *
 *   parsePolicyText(text, file) → Rule[]              one file; `file` only names it in errors
 *   policyFromFiles([{ name, text }, ...]) → Policy   several files, concatenated in name order
 *
 * Every error is a QbuildError('policy-syntax', '<file>:<line>: <what>'). A line is
 * `SERVICE ARGUMENT SOURCE TARGET ACTION [key=value ...]`; `#` starts a comment only at the
 * start of a line (as upstream: there are no trailing comments). Upstream facts:
 * qubes-core-qrexec qrexec/policy/parser.py (Rule, validate_service_and_argument, Allow/Ask/Deny).
 */
import { parseToken, syntaxError, type RedirectToken, type SourceToken, type TargetToken } from './tokens.js';

export type ServicePattern = { kind: 'any' } | { kind: 'name'; name: string };
/** `*` → any; `+` → exact '' (no or empty argument); `+ARG` → exact 'ARG'. */
export type ArgumentPattern = { kind: 'any' } | { kind: 'exact'; value: string };

export type Action =
  | { kind: 'allow'; target?: RedirectToken; user?: string; notify: boolean; autostart: boolean }
  | { kind: 'deny'; notify: boolean }
  | { kind: 'ask'; target?: RedirectToken; defaultTarget?: RedirectToken; user?: string; notify: boolean; autostart: boolean };

export interface Rule {
  service: ServicePattern;
  argument: ArgumentPattern;
  source: SourceToken;
  target: TargetToken;
  action: Action;
  /** Where the rule was written, for messages (`denied by policy FILE:LINE`). */
  file: string;
  line: number;
}

/** Rules in evaluation order (files by name, then lines in file order). */
export interface Policy { readonly rules: readonly Rule[] }

const SERVICE_RE = /^[A-Za-z0-9_.-]+$/;
const ARGUMENT_RE = /^[A-Za-z0-9_.-]*$/;
const USER_RE = /^[A-Za-z0-9_.-]+$/;

/** Parameters each action accepts (upstream: the keyword arguments of Allow, Deny, Ask). */
const PARAMS: Record<Action['kind'], ReadonlySet<string>> = {
  allow: new Set(['target', 'user', 'notify', 'autostart']),
  deny: new Set(['notify']),
  ask: new Set(['target', 'default_target', 'user', 'notify', 'autostart']),
};

/** Directives upstream knows; qbuild policies are flat files, so each is refused by name. */
const UPSTREAM_DIRECTIVES = new Set(['!include', '!include-dir', '!include-service', '!compat-4.0']);

/** SERVICE is `*` or a name of `[A-Za-z0-9_.-]` (no `+`: that separates the argument). */
function parseService(text: string, where: string): ServicePattern {
  if (text === '*') return { kind: 'any' };
  if (!SERVICE_RE.test(text)) syntaxError(where, `invalid service ${JSON.stringify(text)}: allowed characters are A-Z a-z 0-9 _ . -`);
  if (text.length > 64) syntaxError(where, `invalid service ${JSON.stringify(text)}: longer than 64 characters`);
  return { kind: 'name', name: text };
}

/**
 * ARGUMENT is `*`, or starts with `+` followed by `[A-Za-z0-9_.-]` (a `+` inside could never
 * match a call, so it is refused). Upstream: only `*` is allowed as argument for service `*`.
 */
function parseArgument(text: string, service: ServicePattern, where: string): ArgumentPattern {
  if (text === '*') return { kind: 'any' };
  if (!text.startsWith('+')) syntaxError(where, `argument ${JSON.stringify(text)} does not start with +`);
  const value = text.slice(1);
  if (!ARGUMENT_RE.test(value)) syntaxError(where, `invalid argument ${JSON.stringify(text)}: allowed characters after + are A-Z a-z 0-9 _ . -`);
  if (value.length > 64) syntaxError(where, `invalid argument ${JSON.stringify(text)}: longer than 64 characters`);
  if (service.kind === 'any') syntaxError(where, 'only * argument allowed for * service');
  return { kind: 'exact', value };
}

/** Each parameter is `key=value`, given at most once, and known to the action. */
function parseParams(action: Action['kind'], params: string[], where: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq <= 0) syntaxError(where, `invalid action parameter syntax: ${JSON.stringify(p)}`);
    const key = p.slice(0, eq);
    if (out.has(key)) syntaxError(where, `parameter given twice: ${JSON.stringify(key)}`);
    if (!PARAMS[action].has(key)) syntaxError(where, `invalid parameter ${JSON.stringify(key)} for action ${action}`);
    out.set(key, p.slice(eq + 1));
  }
  return out;
}

/** `notify=` and `autostart=` are exactly `yes` or `no`. */
function parseBool(params: Map<string, string>, key: string, dflt: boolean, where: string): boolean {
  const v = params.get(key);
  if (v === undefined) return dflt;
  if (v !== 'yes' && v !== 'no') syntaxError(where, `${JSON.stringify(key)} is ${JSON.stringify(v)}, but can be only 'yes' or 'no'`);
  return v === 'yes';
}

/** `user=` names a Unix account: non-empty `[A-Za-z0-9_.-]`. */
function parseUser(params: Map<string, string>, where: string): string | undefined {
  const v = params.get('user');
  if (v === undefined) return undefined;
  if (!USER_RE.test(v)) syntaxError(where, `invalid user ${JSON.stringify(v)}: allowed characters are A-Z a-z 0-9 _ . -`);
  return v;
}

function parseRedirect(params: Map<string, string>, key: string, where: string): RedirectToken | undefined {
  const v = params.get(key);
  return v === undefined ? undefined : parseToken(v, 'redirect', where);
}

/** ACTION is `allow`, `deny` or `ask`. Defaults as upstream: deny notifies, allow/ask do not; autostart is on. */
function parseAction(word: string, params: string[], where: string): Action {
  if (word !== 'allow' && word !== 'deny' && word !== 'ask') syntaxError(where, `invalid action: ${JSON.stringify(word)}`);
  const p = parseParams(word, params, where);
  switch (word) {
    case 'deny':
      return { kind: 'deny', notify: parseBool(p, 'notify', true, where) };
    case 'allow':
      return {
        kind: 'allow', target: parseRedirect(p, 'target', where), user: parseUser(p, where),
        notify: parseBool(p, 'notify', false, where), autostart: parseBool(p, 'autostart', true, where),
      };
    case 'ask':
      return {
        kind: 'ask', target: parseRedirect(p, 'target', where),
        defaultTarget: parseRedirect(p, 'default_target', where), user: parseUser(p, where),
        notify: parseBool(p, 'notify', false, where), autostart: parseBool(p, 'autostart', true, where),
      };
  }
}

/** One rule line (already trimmed, not a comment). */
function parseRule(line: string, file: string, lineNo: number): Rule {
  const where = `${file}:${lineNo}`;
  const fields = line.split(/\s+/);
  /** A rule has at least five fields: SERVICE ARGUMENT SOURCE TARGET ACTION. */
  if (fields.length < 5) syntaxError(where, 'wrong number of fields');
  const [svc, arg, src, tgt, act, ...params] = fields as [string, string, string, string, string, ...string[]];
  const service = parseService(svc, where);
  const argument = parseArgument(arg, service, where);
  const source = parseToken(src, 'source', where);
  const target = parseToken(tgt, 'target', where);
  const action = parseAction(act, params, where);
  /** An `allow` for target `@default` must say where to (`target=`): the caller named nobody. */
  if (target.kind === 'default' && action.kind === 'allow' && !action.target) {
    syntaxError(where, 'allow action for @default rule must specify target= option');
  }
  return { service, argument, source, target, action, file, line: lineNo };
}

/** Parses one policy file. Blank lines and lines starting with `#` are skipped. */
export function parsePolicyText(text: string, file: string): Rule[] {
  const rules: Rule[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || line.startsWith('#')) continue;
    /** `!` directives (`!include`, `!include-dir`, `!include-service`, `!compat-4.0`) are not supported. */
    if (line.startsWith('!')) {
      const directive = line.split(/\s+/)[0]!;
      if (UPSTREAM_DIRECTIVES.has(directive)) syntaxError(`${file}:${i + 1}`, `unsupported directive ${directive}`);
      syntaxError(`${file}:${i + 1}`, `invalid directive ${JSON.stringify(directive)}`);
    }
    rules.push(parseRule(line, file, i + 1));
  }
  return rules;
}

/** Upstream sorts file names by code point; so does this (not by locale). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Concatenates the rules of several files, files in name order, so the first match wins across files. */
export function policyFromFiles(files: readonly { name: string; text: string }[]): Policy {
  const sorted = [...files].sort((x, y) => compareNames(x.name, y.name));
  return { rules: sorted.flatMap((f) => parsePolicyText(f.text, f.name)) };
}
