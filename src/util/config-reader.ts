import { QbuildError } from '../errors.js';
import { closestName } from './did-you-mean.js';
import { parseListenAddress, type ListenAddress } from './listen-address.js';

type Obj = Record<string, unknown>;

/** A complaint a reader already worded (`<file>: <key>: …`): `checked` passes it on as it is. */
class ConfigKeyError extends QbuildError {}

/** What a reader names when it was handed an object, not a file (a test, a caller with no path). */
export const UNNAMED_CONFIG = 'qbuild.json';

/**
 * The one way a role reads its section of the qube's qbuild.json. Every complaint is one line,
 * `<file>: <key>: <what>` (the CLI edge adds `qbuild: <role>: `, src/cli/report.ts), where
 * `<key>` is the path from the file's top (`sysnet.listen`, `build.components[0].url`).
 * Nothing here repairs or defaults a value: a caller passes `s.key ?? default` for a fixed
 * default (checked like any value), and skips the check for one derived from the environment
 * (a path under the state dir is not the file's to blame). Each method states its rule.
 */
export class ConfigReader {
  /** `prefix` goes before every key this reader names (see `under`). */
  constructor(readonly file: string = UNNAMED_CONFIG, private readonly prefix = '') {}

  fail(key: string, what: string): never {
    throw new ConfigKeyError('config', `${this.file}: ${this.prefix}${key}: ${what}`);
  }

  /** A reader for the keys inside `key` (a section): `under('build').fail('release', …)` names `build.release`. */
  under(key: string): ConfigReader {
    return new ConfigReader(this.file, `${this.prefix}${key}.`);
  }

  /**
   * A JSON object whose keys are all in `known`: any other key is refused by name (a typo
   * must not silently become a default), with the closest known key (at most 2 edits away)
   * as a hint.
   */
  object(key: string, v: unknown, known: readonly string[]): Obj {
    const o = this.map(key, v);
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const near = closestName(k, known);
      this.fail(`${key}.${k}`, near === undefined ? 'unknown key' : `unknown key; did you mean "${near}"?`);
    }
    return o;
  }

  /** A JSON object with any keys (the caller checks them: a map of names). */
  map(key: string, v: unknown): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'must be an object');
    return v as Obj;
  }

  /** A present value; `missing` names the key when it is absent (undefined). */
  present(key: string, v: unknown, why = 'missing'): unknown {
    if (v === undefined) this.fail(key, why);
    return v;
  }

  /** A non-empty string. */
  string(key: string, v: unknown): string {
    if (typeof v !== 'string' || v === '') this.fail(key, 'must be a non-empty string');
    return v;
  }

  /** A non-empty string, or null. */
  stringOrNull(key: string, v: unknown): string | null {
    return v === null ? null : this.string(key, v);
  }

  /** One of `choices`, exactly. */
  oneOf<T extends string>(key: string, v: unknown, choices: readonly T[]): T {
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
      this.fail(key, `must be ${choices.map((c) => JSON.stringify(c)).join(' or ')}`);
    }
    return v as T;
  }

  /** A JSON list. */
  list(key: string, v: unknown): unknown[] {
    if (!Array.isArray(v)) this.fail(key, 'must be a list');
    return v;
  }

  /**
   * A list of names, each checked by `check` (which throws its own one-line error, re-worded
   * with `key[i]`); no name twice.
   */
  names(key: string, v: unknown, check: (name: string) => string): string[] {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'must be a list of names');
    const out = (v as string[]).map((x, i) => this.checked(`${key}[${i}]`, () => check(x)));
    const dup = out.find((x, i) => out.indexOf(x) !== i);
    if (dup !== undefined) this.fail(key, `lists ${JSON.stringify(dup)} twice`);
    return out;
  }

  /** A whole number (JSON integer, not `"5"` or `5.5`) from `min` to `max`. */
  int(key: string, v: unknown, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(key, `must be a whole number${range(min, max)}`);
    return v;
  }

  /** A size in bytes: a whole number from `min` to `max`. */
  size(key: string, v: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(key, `must be a size in bytes${range(min, max)}`);
    return v;
  }

  /**
   * A duration in `unit` (the key's name says which: `…Ms`, `…Seconds`): a whole number from
   * `min` to `max`, or with `fraction` any number above 0 up to `max`.
   */
  duration(key: string, v: unknown, unit: 'milliseconds' | 'seconds', min: number, max: number = Number.MAX_SAFE_INTEGER, fraction = false): number {
    const ok = typeof v === 'number' && (fraction ? v > 0 && v <= max : Number.isSafeInteger(v) && v >= min && v <= max);
    if (!ok) this.fail(key, fraction ? `must be a number of ${unit} above 0, at most ${max}` : `must be a whole number of ${unit}${range(min, max)}`);
    return v as number;
  }

  /** A TCP port a qube connects to: a whole number from 1 to 65535. */
  port(key: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) this.fail(key, 'must be a port from 1 to 65535');
    return v;
  }

  /**
   * Where a listener binds: a string with parseListenAddress's rules (src/util/listen-address.ts:
   * `IPv4:PORT`, `[IPv6]:PORT` or `localhost:PORT`, port 0-65535, no host names).
   */
  listen(key: string, v: unknown): ListenAddress {
    if (typeof v !== 'string') this.fail(key, 'must be a string "HOST:PORT"');
    return this.checked(key, () => parseListenAddress(v));
  }

  /**
   * A file or directory in this qube: absolute (a relative path would depend on the daemon's
   * working directory), at most 4096 characters, no NUL or line break, no `.` or `..` part.
   * Milder than the pillar's qube-path rule (which also keeps a shell word safe for Salt): the
   * simulator moves a qube's paths under the dev box's formula dir, wherever that is.
   */
  absolutePath(key: string, v: unknown): string {
    const p = this.string(key, v);
    if (!p.startsWith('/')) this.fail(key, `${JSON.stringify(p.slice(0, 80))} must be an absolute path`);
    if (p.length > 4096 || /[\0\r\n]/.test(p)) this.fail(key, 'must be at most 4096 characters without NUL or line breaks');
    if (p.split('/').some((c) => c === '.' || c === '..')) this.fail(key, "must not contain '.' or '..' parts");
    return p;
  }

  /** A value problem from a shared rule (text, or null when fine; src/protocol/build/rules.ts). */
  rule(key: string, problem: string | null): void {
    if (problem) this.fail(key, problem);
  }

  /**
   * Runs a check that throws its own error (a name rule) and re-words it with the key; a
   * reader's own complaint inside `fn` (a wrong type) already names its key and passes as is.
   */
  checked<T>(key: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ConfigKeyError) throw e;
      return this.fail(key, (e as Error).message);
    }
  }
}

function range(min: number, max: number): string {
  return max >= Number.MAX_SAFE_INTEGER ? `, at least ${min}` : ` from ${min} to ${max}`;
}
