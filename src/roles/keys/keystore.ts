import { chmodSync, mkdirSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { writeAtomically } from '../../util/durable-file.js';
import { checkStoredKey, type StoredKey } from './stored-key.js';

/** The keys VM's key directory: `<state>/keys`, mode 0700, one `<FPR>.json` (0600) per key. */
export class KeyStore {
  readonly dir: string;
  constructor(stateDir: string) { this.dir = join(stateDir, 'keys'); }

  list(): StoredKey[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => /^[0-9A-F]{40}\.json$/.test(f)).sort().map((f) => {
      const path = join(this.dir, f);
      try {
        return checkStoredKey(JSON.parse(readFileSync(path, 'utf8')), path);
      } catch (e) {
        throw new QbuildError('config', `cannot read key ${path}: ${(e as Error).message}`);
      }
    });
  }

  /** Writes atomically with 0600 from the start (the temporary file too). */
  save(key: StoredKey): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const path = join(this.dir, `${key.fingerprint}.json`);
    // Durable before the import reports success: a crash must not lose or truncate a key.
    writeAtomically(path, JSON.stringify(key, null, 1) + '\n', 0o600, `${path}.tmp-${process.pid}`);
    return path;
  }

  /**
   * Finds the key a `-u` spec names. Rules (a subset of gpg's): full fingerprint, long or short
   * key ID (optionally `0x`-prefixed, of the primary key or the signing subkey), `<email>` exact,
   * or a case-insensitive substring of a user ID. More than one match is refused as ambiguous;
   * no spec means the only key, or the configured default.
   */
  find(spec: string | undefined, defaultKey?: string): StoredKey | undefined {
    const keys = this.list();
    if (spec === undefined) {
      if (defaultKey) return this.find(defaultKey);
      return keys.length === 1 ? keys[0] : undefined;
    }
    const s = spec.trim();
    const hex = s.replace(/^0x/i, '').replace(/ /g, '').toUpperCase();
    if (/^[0-9A-F]{8}$|^[0-9A-F]{16}$|^[0-9A-F]{40}$/.test(hex)) {
      const hits = keys.filter((k) => [k.fingerprint, k.signer.fingerprint].some((f) => f.endsWith(hex)));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new QbuildError('bad-input', `key spec ${spec} is ambiguous`);
    }
    const m = /^<(.+)>$/.exec(s);
    const hits = m
      ? keys.filter((k) => k.userIds.some((u) => u.toLowerCase().includes(`<${m[1]!.toLowerCase()}>`)))
      : keys.filter((k) => k.userIds.some((u) => u.toLowerCase().includes(s.toLowerCase())));
    if (hits.length > 1) throw new QbuildError('bad-input', `key spec ${spec} is ambiguous`);
    return hits[0];
  }
}
