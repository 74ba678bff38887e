/**
 * Manifest lines (design §6, docs/gate.md): before closing a stage's log, the build VM names
 * each exact byte string it will ask the keys VM to sign, one line each, in the form the
 * signature will bind (src/protocol/signform.ts):
 *
 *   qbuild-sign sha256:<64 lowercase hex> <label>            binary signature
 *   qbuild-sign text-sha256:<64 lowercase hex> <label>       text-mode (-t) signature
 *   qbuild-sign clearsign-sha256:<64 lowercase hex> <label>  cleartext signature
 *
 * Pure: parses one stored (already sanitised) line's text.
 */

import { FORM_TOKEN, formFromToken, type SignForm } from '../signform.js';

export const MANIFEST_PREFIX = 'qbuild-sign ';

export interface ManifestEntry {
  form: SignForm;
  sha256: string;
  label: string;
}

const MANIFEST_RE = /^qbuild-sign ([a-z0-9-]{1,32}):([0-9a-f]{64}) ([\x21-\x7e]{1,255})$/;

/**
 * A manifest line is exactly `qbuild-sign <token>:<64 lowercase hex> <label>`, token one of
 * `sha256`, `text-sha256`, `clearsign-sha256`, label 1–255 printable ASCII characters without
 * spaces, nothing before or after. Anything else is not a manifest entry (the line is still
 * stored, it just grants nothing).
 */
export function parseManifestLine(text: string): ManifestEntry | undefined {
  const m = MANIFEST_RE.exec(text);
  if (!m) return undefined;
  const form = formFromToken(m[1]!);
  return form ? { form, sha256: m[2]!, label: m[3]! } : undefined;
}

/** The manifest line (without newline) for an entry: the inverse of parseManifestLine. */
export function formatManifestLine(e: ManifestEntry): string {
  return `${MANIFEST_PREFIX}${FORM_TOKEN[e.form]}:${e.sha256} ${e.label}`;
}

/** At most this many entries per log (the ticket's limit too): a log cannot grant without bound. */
export const MAX_MANIFEST_ENTRIES = 10000;

/**
 * At most this many bytes of ledger `sign` lines per log. Each finished log becomes one ledger
 * entry (src/protocol/tlog/entry.ts), and C2SP tlog-tiles entry bundles cap an entry at 65 535
 * bytes; the entry's other lines (vm ≤ 31, path ≤ 512, digest, two times) take under 1 KiB, so
 * a manifest within this budget always fits and every log can be ledgered and published.
 * One `sign` line is `sign <token>:<64 hex> <label>\n`: 88–343 bytes, so 185–730 entries.
 */
export const MAX_MANIFEST_LEDGER_BYTES = 63 * 1024;

/** The bytes one entry takes in the ledger entry's `sign` line (see src/protocol/tlog/entry.ts). */
function ledgerLineBytes(e: ManifestEntry): number {
  return 'sign '.length + FORM_TOKEN[e.form].length + 1 + 64 + 1 + e.label.length + 1;
}

/**
 * A log's manifest: entries in first-seen order, duplicates (same form, digest and label)
 * once, at most MAX_MANIFEST_ENTRIES and MAX_MANIFEST_LEDGER_BYTES; entries past either limit
 * are counted in `dropped` (they grant nothing, and the log says so).
 */
export class Manifest {
  readonly entries: ManifestEntry[] = [];
  dropped = 0;
  private ledgerBytes = 0;
  private readonly seen = new Set<string>();

  add(e: ManifestEntry): void {
    const key = `${e.form} ${e.sha256} ${e.label}`;
    if (this.seen.has(key)) return;
    const bytes = ledgerLineBytes(e);
    if (this.entries.length >= MAX_MANIFEST_ENTRIES || this.ledgerBytes + bytes > MAX_MANIFEST_LEDGER_BYTES) {
      this.dropped++;
      return;
    }
    this.seen.add(key);
    this.ledgerBytes += bytes;
    this.entries.push(e);
  }
}
