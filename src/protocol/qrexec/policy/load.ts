/**
 * Reads a policy directory (like /etc/qubes/policy.d) into a Policy. The only file with I/O here.
 *
 *   loadPolicyDir(dir) → Policy
 *
 * Synchronous: a policy directory is a few small files, and the simulator's router reads it
 * on every call, where async round trips through the thread pool cost more than the reads.
 *
 * Files named `*.policy` are read in name order (code-point order, as upstream); other files,
 * dot files and non-regular files are ignored. Syntax errors are QbuildError('policy-syntax',
 * '<dir>/<file>:<line>: <what>'); an unreadable directory or file is QbuildError('io').
 */
import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { compareNames, parsePolicyText, type Policy, type Rule } from './parser.js';

/** A policy file name uses only `[a-z0-9_.-]` (upstream: one bad name refuses the whole directory). */
const FILE_NAME_RE = /^[a-z0-9_.-]+$/;

function ioError(what: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  throw new QbuildError('io', `${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
}

export function loadPolicyDir(dir: string): Policy {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    ioError(`cannot read policy directory ${dir}`, err);
  }
  const rules: Rule[] = [];
  for (const path of policyFiles(dir, entries)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      ioError(`cannot read policy file ${path}`, err);
    }
    rules.push(...parsePolicyText(text, path));
  }
  return { rules };
}

/** The paths of the directory's policy files, in the order they are read. */
function policyFiles(dir: string, entries: Dirent[]): string[] {
  const names = entries
    .filter((e) => e.isFile() && e.name.endsWith('.policy') && !e.name.startsWith('.'))
    .map((e) => e.name);
  for (const name of names) {
    if (!FILE_NAME_RE.test(name)) {
      throw new QbuildError('policy-syntax', `${join(dir, name)}: invalid policy file name (allowed: a-z 0-9 _ . -)`);
    }
  }
  names.sort(compareNames);
  return names.map((name) => join(dir, name));
}
