import { QbuildError } from '../../../errors.js';
import { parseDistName } from '../../build/dist.js';
import { releaseProblem } from '../../build/rules.js';
import { checkComponentName } from '../component.js';

/**
 * The commands a maintainer may sign in a GitHub comment (design §5, ProcessGithubCommand),
 * with upstream qubes-builderv2-github's grammar (utils/parse-command):
 *   Upload-component <rel> <component> <40-hex commit> <current|security-testing> <all|dist...>
 *   Build-template <rel> <template> <YYYYmmddHHMM>
 *   Upload-template <rel> <template> <version>-<YYYYmmddHHMM> <templates-itl|templates-community>
 *   Build-iso <rel> <version> <YYYYmmddHHMM>
 */
export type Command =
  | { kind: 'upload-component'; release: string; component: string; commit: string; repository: 'current' | 'security-testing'; dists: 'all' | string[] }
  | { kind: 'build-template'; release: string; template: string; timestamp: string }
  | { kind: 'upload-template'; release: string; template: string; version: string; timestamp: string; repository: 'templates-itl' | 'templates-community' }
  | { kind: 'build-iso'; release: string; version: string; timestamp: string };

export const MAX_COMMAND_LINE = 255;

const bad = (why: string): never => { throw new QbuildError('bad-input', why); };

/**
 * The line as a whole (upstream check_command). Rules: 1–255 characters of `[A-Za-z0-9_.\- ]`;
 * words are separated by exactly one space: no leading, trailing or double space; no word starts
 * with `-` (upstream's "space-dash" rule, so no argument can read as an option and an
 * OpenPGP dash-escaped line can never be a command).
 */
export function checkCommandLine(line: string): string[] {
  if (line.length === 0) bad('empty command');
  if (line.length > MAX_COMMAND_LINE) bad(`command longer than ${MAX_COMMAND_LINE} characters`);
  if (!/^[A-Za-z0-9_.\- ]+$/.test(line)) bad('invalid character in command (allowed: A-Z a-z 0-9 _ . - space)');
  if (line.startsWith(' ') || line.endsWith(' ')) bad('leading or trailing space in command');
  if (line.includes('  ')) bad('double space in command');
  if (line.startsWith('-') || line.includes(' -')) bad('a word of the command starts with "-"');
  return line.split(' ');
}

/** A release name: `r` + major.minor, e.g. `r4.3` (the build env's release rule). */
function release(word: string): string {
  const why = releaseProblem(word);
  return why ? bad(`release ${JSON.stringify(word)} ${why}`) : word;
}

/** A commit: exactly 40 lowercase hex digits (a full SHA-1 object name, as upstream). */
function commit(word: string): string {
  return /^[0-9a-f]{40}$/.test(word) ? word : bad(`${JSON.stringify(word)} is not a 40-hex commit id`);
}

/** A template name: 1–64 characters of `[A-Za-z0-9_-]` (no `.`, as upstream; it names a path). */
function template(word: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(word) ? word : bad(`invalid template name ${JSON.stringify(word)}`);
}

/** A version (template or ISO): 1–64 of `[A-Za-z0-9_.-]`, starting with a letter or digit, no `..`. */
function version(word: string, what: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(word) && !word.includes('..') ? word : bad(`invalid ${what} ${JSON.stringify(word)}`);
}

/**
 * A build timestamp `YYYYmmddHHMM` (UTC): exactly 12 decimal digits naming a real minute
 * (month 01–12, day valid for the month, hour 00–23, minute 00–59).
 */
export function timestampDate(word: string): Date {
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(word);
  if (!m) return bad(`timestamp ${JSON.stringify(word)} must be exactly 12 decimal digits (YYYYmmddHHMM)`);
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi));
  const real = date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60;
  return real ? date : bad(`timestamp ${word} is not a real date and time`);
}

/**
 * The dists of Upload-component: the single word `all`, or one or more distinct
 * `host-<dist>` / `vm-<dist>` names (parseDistName).
 */
function dists(words: string[]): 'all' | string[] {
  if (words.length === 1 && words[0] === 'all') return 'all';
  for (const w of words) {
    if (w === 'all') bad('"all" cannot be combined with dist names');
    const d = parseDistName(w);
    if (typeof d === 'string') bad(`dist ${d}`);
  }
  if (new Set(words).size !== words.length) bad('a dist is named twice');
  return words;
}

function arity(words: string[], n: number, usage: string): void {
  if (words.length !== n) bad(`${words[0]} takes ${n - 1} arguments: ${usage}`);
}

/** Parses one command line (checkCommandLine, then the named command's own arguments). */
export function parseCommandLine(line: string): Command {
  const words = checkCommandLine(line);
  switch (words[0]) {
    case 'Upload-component': {
      if (words.length < 6) bad('Upload-component takes at least 5 arguments: release, component, commit, current|security-testing, all|dists');
      const repository = words[4] === 'current' || words[4] === 'security-testing' ? words[4] : bad(`unsupported repository ${JSON.stringify(words[4])} (current or security-testing)`);
      return { kind: 'upload-component', release: release(words[1]!), component: checkComponentName(words[2]!), commit: commit(words[3]!), repository, dists: dists(words.slice(5)) };
    }
    case 'Build-template':
      arity(words, 4, 'release, template, timestamp');
      timestampDate(words[3]!);
      return { kind: 'build-template', release: release(words[1]!), template: template(words[2]!), timestamp: words[3]! };
    case 'Upload-template': {
      arity(words, 5, 'release, template, VERSION-TIMESTAMP, templates-itl|templates-community');
      const vt = words[3]!;
      const dash = vt.lastIndexOf('-');
      if (dash <= 0) bad(`template version ${JSON.stringify(vt)} must be VERSION-YYYYmmddHHMM`);
      const timestamp = vt.slice(dash + 1);
      timestampDate(timestamp);
      const repository = words[4] === 'templates-itl' || words[4] === 'templates-community' ? words[4] : bad(`unsupported repository ${JSON.stringify(words[4])} (templates-itl or templates-community)`);
      return { kind: 'upload-template', release: release(words[1]!), template: template(words[2]!), version: version(vt.slice(0, dash), 'template version'), timestamp, repository };
    }
    case 'Build-iso':
      arity(words, 4, 'release, version, timestamp');
      timestampDate(words[3]!);
      return { kind: 'build-iso', release: release(words[1]!), version: version(words[2]!, 'iso version'), timestamp: words[3]! };
    default:
      return bad(`unknown command ${JSON.stringify(words[0]!.slice(0, 40))}`);
  }
}

/** The command's canonical line (parseCommandLine(formatCommand(c)) deep-equals c). */
export function formatCommand(c: Command): string {
  switch (c.kind) {
    case 'upload-component': return ['Upload-component', c.release, c.component, c.commit, c.repository, ...(c.dists === 'all' ? ['all'] : c.dists)].join(' ');
    case 'build-template': return `Build-template ${c.release} ${c.template} ${c.timestamp}`;
    case 'upload-template': return `Upload-template ${c.release} ${c.template} ${c.version}-${c.timestamp} ${c.repository}`;
    case 'build-iso': return `Build-iso ${c.release} ${c.version} ${c.timestamp}`;
  }
}
