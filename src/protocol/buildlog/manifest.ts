/**
 * Manifest lines (DESIGN §6): before closing a stage's log, the build VM names each exact
 * byte string it will ask the keys VM to sign, one line each:
 *
 *   qbuild-sign sha256:<64 lowercase hex> <label>
 *
 * Pure: parses one stored (already sanitised) line's text.
 */

export const MANIFEST_PREFIX = 'qbuild-sign ';

export interface ManifestEntry {
  sha256: string;
  label: string;
}

const MANIFEST_RE = /^qbuild-sign sha256:([0-9a-f]{64}) ([\x21-\x7e]{1,255})$/;

/**
 * A manifest line is exactly `qbuild-sign sha256:<64 lowercase hex> <label>`, label 1–255
 * printable ASCII characters without spaces, nothing before or after. Anything else is not a
 * manifest entry (the line is still stored, it just grants nothing).
 */
export function parseManifestLine(text: string): ManifestEntry | undefined {
  const m = MANIFEST_RE.exec(text);
  return m ? { sha256: m[1]!, label: m[2]! } : undefined;
}

/** At most this many entries per log (the ticket's limit too): a log cannot grant without bound. */
export const MAX_MANIFEST_ENTRIES = 10000;

/**
 * A log's manifest: entries in first-seen order, duplicates (same digest and label) once,
 * at most MAX_MANIFEST_ENTRIES; entries past the limit are counted in `dropped`.
 */
export class Manifest {
  readonly entries: ManifestEntry[] = [];
  dropped = 0;
  private readonly seen = new Set<string>();

  add(e: ManifestEntry): void {
    const key = `${e.sha256} ${e.label}`;
    if (this.seen.has(key)) return;
    if (this.entries.length >= MAX_MANIFEST_ENTRIES) {
      this.dropped++;
      return;
    }
    this.seen.add(key);
    this.entries.push(e);
  }
}
