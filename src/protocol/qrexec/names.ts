import { QbuildError } from '../../errors.js';

/**
 * Name rules for qrexec (design §4), as qubes-core-qrexec checks them. Every function rejects;
 * none repairs a name.
 */

const SERVICE_RE = /^[A-Za-z0-9_.-]+$/;
const ARG_RE = /^[A-Za-z0-9_.-]*$/;
const VM_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const MAX_SERVICE_FULL = 64 + 1 + 64;
export const MAX_VM_NAME = 31;
const VM_NAME_SHAPE_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;

/**
 * A bad service, VM or target name is a qrexec problem ('bad-name', exit 125); a bad service
 * argument is the caller's bad input ('bad-input', exit 2). The sim router still answers
 * either with a refusal (126), as qrexec does.
 */
function bad(what: string, value: string, why: string): never {
  const code = what === 'service argument' ? 'bad-input' : 'bad-name';
  throw new QbuildError(code, `invalid ${what} ${JSON.stringify(value.slice(0, 80))}: ${why}`);
}

/** A service name is non-empty `[A-Za-z0-9_.-]`, not `.`/`..`, with no `+` (the argument separator). */
export function checkServiceName(name: string): string {
  if (!name) bad('service name', name, 'empty');
  if (!SERVICE_RE.test(name)) bad('service name', name, 'allowed characters are A-Z a-z 0-9 _ . -');
  if (name === '.' || name === '..') bad('service name', name, 'reserved');
  if (name.length > 64) bad('service name', name, 'longer than 64 characters');
  return name;
}

/** A service argument is `[A-Za-z0-9_.-]`, at most 64 characters, not `.`/`..` (it may become a file name). */
export function checkArgument(arg: string): string {
  if (!ARG_RE.test(arg)) bad('service argument', arg, 'allowed characters are A-Z a-z 0-9 _ . -');
  if (arg === '.' || arg === '..') bad('service argument', arg, 'reserved');
  if (arg.length > 64) bad('service argument', arg, 'longer than 64 characters');
  return arg;
}

/**
 * A VM name starts with a letter, then `[A-Za-z0-9_.-]`, at most 31 characters (Qubes' limit),
 * and is not a reserved word. `@`-keywords are targets, not names: see isKeyword.
 */
export function checkVmName(name: string): string {
  if (!name) bad('VM name', name, 'empty');
  if (!VM_RE.test(name)) bad('VM name', name, 'must start with a letter and use A-Z a-z 0-9 _ . -');
  if (name.length > MAX_VM_NAME) bad('VM name', name, `longer than ${MAX_VM_NAME} characters`);
  if (name === 'none' || name === 'default' || name.endsWith('-dm')) bad('VM name', name, 'reserved');
  return name;
}

/**
 * The shape of a qube name: a letter, then `[A-Za-z0-9_.-]`, at most 31 characters in all
 * (MAX_VM_NAME). Reserved words are checkVmName's concern, not the shape's.
 */
export function hasVmNameShape(name: string): boolean {
  return VM_NAME_SHAPE_RE.test(name);
}

/** A call target is a VM name or one of the `@`-keywords a caller may ask for. */
export function checkTarget(target: string): string {
  if (target === '@default' || target === '@adminvm' || target === '@dispvm') return target;
  if (target.startsWith('@dispvm:')) { checkVmName(target.slice(8)); return target; }
  if (target.startsWith('@')) bad('target', target, 'unknown keyword');
  return checkVmName(target);
}

export interface ServiceCall { service: string; argument: string | undefined }

/** Splits `svc+arg`. No `+` means no argument; `svc+` means an empty argument (Qubes: same as none). */
export function parseServiceFullName(full: string): ServiceCall {
  if (full.length > MAX_SERVICE_FULL) bad('service', full, 'too long');
  const plus = full.indexOf('+');
  if (plus < 0) return { service: checkServiceName(full), argument: undefined };
  const service = checkServiceName(full.slice(0, plus));
  const arg = full.slice(plus + 1);
  if (arg.includes('+')) bad('service argument', arg, "contains '+'");
  return { service, argument: arg === '' ? undefined : checkArgument(arg) };
}

export function formatServiceFullName(c: ServiceCall): string {
  return c.argument === undefined ? c.service : `${c.service}+${c.argument}`;
}
