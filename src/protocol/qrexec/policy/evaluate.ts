/**
 * Policy evaluation, as qrexec-policy-daemon decides a call. Pure: policy + request + system in,
 * decision out; nothing is thrown for a refused call (a refusal is a `deny` decision).
 *
 *   evaluate(policy, { service, argument, source, target }, { vms }) → Decision
 *
 * - `argument` undefined means the caller gave none; '' is the same (Qubes: `svc+` = `svc`).
 * - `target` is what the caller asked for: a qube name, `dom0`, `@adminvm`, `@default` (or ''),
 *   `@dispvm`, `@dispvm:VM`.
 * - `system.vms` lists the qubes: type ('AppVM', 'DispVM', ...), tags, and for disposables
 *   `templateForDispvms` / `defaultDispvm`; `running` matters only for `autostart=no`.
 *   dom0 always exists (type 'AdminVM') whether or not it is listed.
 *
 * Semantics (upstream qrexec/policy/parser.py): rules are tried in order (files by name, then
 * lines); the first rule matching service, argument, source and target decides; no match denies.
 * `allow target=X` redirects the call to X. Deliberate difference: a call naming a qube that
 * does not exist is denied outright (upstream quietly turns it into `@default`).
 */
import type { Policy, Rule } from './parser.js';
import type { RedirectToken, SourceToken, TargetToken } from './tokens.js';

export interface VmInfo {
  type?: string;
  tags: readonly string[];
  /** This qube may be the template of disposables (`@dispvm:NAME`). */
  templateForDispvms?: boolean;
  /** The template `@dispvm` means when this qube is the caller. */
  defaultDispvm?: string;
  /** Only consulted for `autostart=no`. */
  running?: boolean;
}

export interface SystemInfo { vms: Readonly<Record<string, VmInfo>> }

export interface Request {
  service: string;
  /** undefined (or '') = no argument. */
  argument: string | undefined;
  source: string;
  /** As the caller asked it (see the file header). */
  target: string;
}

export type Decision =
  | { action: 'allow'; target: string; user?: string; autostart: boolean; notify: boolean; rule: Rule }
  | { action: 'deny'; reason: string; notify: boolean; rule?: Rule }
  | { action: 'ask'; targets: string[]; defaultTarget?: string; user?: string; autostart: boolean; notify: boolean; rule: Rule };

/** The caller's target once checked: a concrete qube, dom0, or a keyword. */
type Intended =
  | { kind: 'vm'; name: string }
  | { kind: 'adminvm' }
  | { kind: 'default' }
  | { kind: 'dispvm' }
  | { kind: 'dispvm-of'; template: string };

const DOM0_INFO: VmInfo = { type: 'AdminVM', tags: [] };

function isDom0(name: string): boolean {
  return name === 'dom0' || name === '@adminvm';
}

/** Own properties only: a qube named `constructor` must not find Object.prototype. */
function vmInfo(system: SystemInfo, name: string): VmInfo | undefined {
  if (isDom0(name)) return Object.hasOwn(system.vms, 'dom0') ? system.vms['dom0'] : DOM0_INFO;
  return Object.hasOwn(system.vms, name) ? system.vms[name] : undefined;
}

function deny(reason: string, rule?: Rule, notify = true): Decision {
  return rule ? { action: 'deny', reason, notify, rule } : { action: 'deny', reason, notify };
}

function at(rule: Rule): string {
  return `${rule.file}:${rule.line}`;
}

/** A `@dispvm:T` target must name an existing qube that is a template for disposables. */
function isDispvmTemplate(system: SystemInfo, name: string): boolean {
  return vmInfo(system, name)?.templateForDispvms === true;
}

/**
 * The caller's target must be `@default` (or empty), dom0/`@adminvm`, `@dispvm`, `@dispvm:T`
 * with T a disposable template, or an existing qube. Anything else is refused before any rule.
 */
function parseIntended(target: string, system: SystemInfo): Intended | string {
  if (target === '' || target === '@default') return { kind: 'default' };
  if (isDom0(target)) return { kind: 'adminvm' };
  if (target === '@dispvm') return { kind: 'dispvm' };
  if (target.startsWith('@dispvm:')) {
    const template = target.slice(8);
    if (!isDispvmTemplate(system, template)) return `not a template for dispvm: ${template}`;
    return { kind: 'dispvm-of', template };
  }
  if (target.startsWith('@')) return `invalid target ${JSON.stringify(target)}`;
  if (!vmInfo(system, target)) return `target ${JSON.stringify(target)} does not exist`;
  return { kind: 'vm', name: target };
}

/** The template `@dispvm` stands for when `source` calls (its default_dispvm), if any. */
function defaultDispvmOf(system: SystemInfo, source: string): string | undefined {
  return vmInfo(system, source)?.defaultDispvm || undefined;
}

/** The qube a type/tag test looks at, or undefined for keywords. */
function concreteName(t: Intended): string | undefined {
  return t.kind === 'vm' ? t.name : t.kind === 'adminvm' ? 'dom0' : undefined;
}

function hasTag(system: SystemInfo, name: string | undefined, tag: string): boolean {
  return name !== undefined && (vmInfo(system, name)?.tags.includes(tag) ?? false);
}

function hasType(system: SystemInfo, name: string | undefined, type: string): boolean {
  return name !== undefined && vmInfo(system, name)?.type === type;
}

/**
 * Source column against the caller (always a concrete qube). `@anyvm` never matches dom0;
 * `dom0`/`@adminvm` match only dom0. `@dispvm:...` tokens never match a caller, as upstream's
 * code (a caller's name is never a disposable-template token).
 */
function matchSource(token: SourceToken, source: string, system: SystemInfo): boolean {
  switch (token.kind) {
    case 'any': return true;
    case 'anyvm': return !isDom0(source);
    case 'adminvm': return isDom0(source);
    case 'vm': return token.name === source;
    case 'type': return hasType(system, source, token.type);
    case 'tag': return hasTag(system, source, token.tag);
    case 'dispvm-of': case 'dispvm-tag': return false;
  }
}

/**
 * Target column against the caller's target. `*` matches everything (even `@default`);
 * `@anyvm` everything but dom0 (so it does match `@default` and `@dispvm`); a keyword
 * (`@default`, `@dispvm`) matches only itself; `@dispvm:T` matches `@dispvm:T` and a bare
 * `@dispvm` when the caller's default disposable template is T.
 */
function matchTarget(token: TargetToken, target: Intended, source: string, system: SystemInfo): boolean {
  switch (token.kind) {
    case 'any': return true;
    case 'anyvm': return target.kind !== 'adminvm';
    case 'adminvm': return target.kind === 'adminvm';
    case 'vm': return target.kind === 'vm' && target.name === token.name;
    case 'default': return target.kind === 'default';
    case 'dispvm': return target.kind === 'dispvm';
    case 'type': return hasType(system, concreteName(target), token.type);
    case 'tag': return hasTag(system, concreteName(target), token.tag);
    case 'dispvm-of': return dispvmTemplateOf(target, source, system) === token.template;
    case 'dispvm-tag': {
      const template = dispvmTemplateOf(target, source, system);
      return template !== undefined && isDispvmTemplate(system, template) && hasTag(system, template, token.tag);
    }
  }
}

function dispvmTemplateOf(target: Intended, source: string, system: SystemInfo): string | undefined {
  if (target.kind === 'dispvm-of') return target.template;
  if (target.kind === 'dispvm') return defaultDispvmOf(system, source);
  return undefined;
}

/** Service, argument and source (everything but the target), as upstream's is_match_but_target. */
function matchButTarget(rule: Rule, req: Request, system: SystemInfo): boolean {
  if (rule.service.kind === 'name' && rule.service.name !== req.service) return false;
  if (rule.argument.kind === 'exact' && rule.argument.value !== (req.argument ?? '')) return false;
  return matchSource(rule.source, req.source, system);
}

/**
 * Where an `allow` really goes: its `target=` if given, else what the caller asked. A redirect
 * to a qube that does not exist, or a `@dispvm:T` whose T is not a disposable template, goes
 * nowhere and is denied; so is `@default` (no target from caller or policy) and `@dispvm` when
 * the caller has no default disposable template. dom0 is reported as `dom0`.
 */
function resolveDestination(dest: RedirectToken | Intended, rule: Rule, req: Request, system: SystemInfo): string | Decision {
  switch (dest.kind) {
    case 'default':
      return deny(`policy define 'allow' action at ${at(rule)} but no target is specified by caller or policy`, rule);
    case 'adminvm':
      return 'dom0';
    case 'vm':
      return vmInfo(system, dest.name) ? dest.name : deny(`redirect target ${JSON.stringify(dest.name)} at ${at(rule)} does not exist`, rule);
    case 'dispvm-of':
      return isDispvmTemplate(system, dest.template)
        ? `@dispvm:${dest.template}` : deny(`not a template for dispvm: ${dest.template}`, rule);
    case 'dispvm': {
      const template = defaultDispvmOf(system, req.source);
      return template ? `@dispvm:${template}`
        : deny(`policy define 'allow' action to @dispvm at ${at(rule)} but no DispVM base is set for this VM`, rule);
    }
  }
}

/** With `autostart=no` only dom0 and running qubes qualify (a disposable always needs starting). */
function reachableWithoutAutostart(target: string, system: SystemInfo): boolean {
  if (isDom0(target)) return true;
  if (target.startsWith('@dispvm')) return false;
  return vmInfo(system, target)?.running === true;
}

function evaluateAllow(rule: Rule & { action: { kind: 'allow' } }, req: Request, intended: Intended, system: SystemInfo): Decision {
  const a = rule.action;
  const target = resolveDestination(a.target ?? intended, rule, req, system);
  if (typeof target !== 'string') return target;
  /** A qube cannot call itself (qrexec has no loopback connections). */
  if (target === req.source || (isDom0(target) && isDom0(req.source))) {
    return deny('loopback qrexec connection not supported', rule, a.notify);
  }
  if (!a.autostart && !reachableWithoutAutostart(target, system)) {
    return deny(`target ${target} is denied because it would require autostart`, rule, a.notify);
  }
  const d: Decision = { action: 'allow', target, autostart: a.autostart, notify: a.notify, rule };
  if (a.user !== undefined) d.user = a.user;
  return d;
}

/** Every concrete target a token can stand for (upstream's expand), keywords kept for later. */
function expand(token: TargetToken | RedirectToken, system: SystemInfo): string[] {
  const names = [...new Set(['dom0', ...Object.keys(system.vms)])];
  const templates = names.filter((n) => isDispvmTemplate(system, n));
  switch (token.kind) {
    case 'vm': return vmInfo(system, token.name) ? [token.name] : [];
    case 'any': return [...names, ...templates.map((t) => `@dispvm:${t}`), '@dispvm'];
    case 'anyvm': return [...names.filter((n) => !isDom0(n)), ...templates.map((t) => `@dispvm:${t}`), '@dispvm'];
    case 'adminvm': return ['dom0'];
    case 'default': return [];
    case 'type': return names.filter((n) => hasType(system, n, token.type));
    case 'tag': return names.filter((n) => hasTag(system, n, token.tag));
    case 'dispvm': return ['@dispvm'];
    case 'dispvm-of': return isDispvmTemplate(system, token.template) ? [`@dispvm:${token.template}`] : [];
    case 'dispvm-tag': return templates.filter((t) => hasTag(system, t, token.tag)).map((t) => `@dispvm:${t}`);
  }
}

/**
 * The choices an `ask` offers when it has no `target=`: walking the rules bottom-up, every rule
 * matching service/argument/source adds what its (redirect) target can stand for, and a `deny`
 * rule removes it; so a deny above an allow wins. `@dispvm` becomes the caller's default
 * template; the caller itself is never offered.
 */
function targetsForAsk(policy: Policy, req: Request, system: SystemInfo): Set<string> {
  const targets = new Set<string>();
  for (const rule of [...policy.rules].reverse()) {
    if (!matchButTarget(rule, req, system)) continue;
    const token = rule.action.kind !== 'deny' && rule.action.target ? rule.action.target : rule.target;
    for (const t of expand(token, system)) {
      if (rule.action.kind === 'deny') targets.delete(t); else targets.add(t);
    }
  }
  if (targets.delete('@dispvm')) {
    const template = defaultDispvmOf(system, req.source);
    if (template) targets.add(`@dispvm:${template}`);
  }
  targets.delete(req.source);
  if (isDom0(req.source)) targets.delete('dom0');
  return targets;
}

function evaluateAsk(policy: Policy, rule: Rule & { action: { kind: 'ask' } }, req: Request, system: SystemInfo): Decision {
  const a = rule.action;
  let targets: string[];
  if (a.target) {
    const t = resolveDestination(a.target, rule, req, system);
    targets = typeof t === 'string' ? [t] : [];
  } else {
    targets = [...targetsForAsk(policy, req, system)].sort();
  }
  if (!a.autostart) targets = targets.filter((t) => reachableWithoutAutostart(t, system));
  /** An `ask` with nothing to choose from is a deny. */
  if (targets.length === 0) {
    return deny(`policy define 'ask' action at ${at(rule)} but no target is available to choose from`, rule, a.notify);
  }
  const d: Decision = { action: 'ask', targets, autostart: a.autostart, notify: a.notify, rule };
  if (a.defaultTarget) {
    /** `default_target=` counts only if it is among the choices. */
    const dt = resolveDestination(a.defaultTarget, rule, req, system);
    if (typeof dt === 'string' && targets.includes(dt)) d.defaultTarget = dt;
  }
  if (a.user !== undefined) d.user = a.user;
  return d;
}

/** Decides one call. See the file header for the meaning of request and system. */
export function evaluate(policy: Policy, request: Request, system: SystemInfo): Decision {
  /** The caller is a qube that exists (dom0 always does). */
  if (!vmInfo(system, request.source)) return deny(`source ${JSON.stringify(request.source)} does not exist`);
  const intended = parseIntended(request.target, system);
  if (typeof intended === 'string') return deny(intended);
  const source = isDom0(request.source) ? 'dom0' : request.source;
  const req: Request = { ...request, source };
  const rule = policy.rules.find((r) => matchButTarget(r, req, system) && matchTarget(r.target, intended, source, system));
  if (!rule) return deny('no matching rule found');
  switch (rule.action.kind) {
    case 'deny': return deny(`denied by policy ${at(rule)}`, rule, rule.action.notify);
    case 'allow': return evaluateAllow(rule as Rule & { action: { kind: 'allow' } }, req, intended, system);
    case 'ask': return evaluateAsk(policy, rule as Rule & { action: { kind: 'ask' } }, req, system);
  }
}

/**
 * Turns an `ask` into the user's answer: `null` (refused) denies; a choice must be one of the
 * offered targets, and then it is an `allow` to that target.
 */
export function answerAsk(ask: Extract<Decision, { action: 'ask' }>, choice: string | null): Decision {
  if (choice === null) return deny(`denied by the user ${at(ask.rule)}`, ask.rule, ask.notify);
  if (!ask.targets.includes(choice)) return deny(`target ${choice} is not a valid choice`, ask.rule, ask.notify);
  const d: Decision = { action: 'allow', target: choice, autostart: ask.autostart, notify: ask.notify, rule: ask.rule };
  if (ask.user !== undefined) d.user = ask.user;
  return d;
}
