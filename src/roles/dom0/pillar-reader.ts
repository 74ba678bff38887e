import { QbuildError } from '../../errors.js';
import { closestName } from '../../util/did-you-mean.js';

/**
 * Walks untrusted pillar data with its key path, so every complaint names where it is
 * (`build-infra:build-envs:fedora:logs: must be a string`). Nothing here repairs a value.
 */
export class PillarReader {
  constructor(readonly file: string) {}

  fail(path: string, why: string): never {
    throw new QbuildError('pillar', `${this.file}: ${path}: ${why}`);
  }

  /**
   * A mapping whose keys are all in `known` (read) or `ignored` (accepted from upstream
   * pillars, not used); any other key is refused by name, with the closest known key
   * (at most 2 edits away) as a hint.
   */
  map(path: string, value: unknown, known: readonly string[], ignored: readonly string[] = []): Record<string, unknown> {
    const m = this.anyMap(path, value);
    for (const key of Object.keys(m)) {
      if (known.includes(key) || ignored.includes(key)) continue;
      const near = closestName(key, known);
      this.fail(`${path}:${key}`, near === undefined ? 'unknown key' : `unknown key; did you mean "${near}"?`);
    }
    return m;
  }

  /** A mapping with arbitrary (checked by the caller) keys, e.g. env names. Keys are strings. */
  anyMap(path: string, value: unknown): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) {
      this.fail(path, 'must be a mapping');
    }
    return value as Record<string, unknown>;
  }

  str(path: string, value: unknown): string {
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    return value;
  }

  optStr(path: string, value: unknown): string | undefined {
    return value === undefined ? undefined : this.str(path, value);
  }

  strList(path: string, value: unknown): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) this.fail(path, 'must be a list of strings');
    return value as string[];
  }

  /** A whole number in [min, max] (YAML integers only: `"5"` or `5.5` are refused). */
  int(path: string, value: unknown, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.fail(path, `must be a whole number from ${min} to ${max}`);
    }
    return value;
  }

  /** Runs a name check that throws its own error, and re-words it with this key path. */
  check<T>(path: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      this.fail(path, (e as Error).message);
    }
  }
}
