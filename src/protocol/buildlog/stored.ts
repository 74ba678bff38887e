/**
 * Reading a stored build log back (format.ts): what the daemon does after a crash, when the
 * BuildLog service's memory is gone and the file is all there is. Pure: lines in, values out.
 */
import { CUT_PREFIX, TIME_LENGTH } from './format.js';
import { MANIFEST_PREFIX, Manifest, parseManifestLine, type ManifestEntry } from './manifest.js';

const ZONE = ' +0000 ';
const MARKER = `${ZONE}> `;

/**
 * Collects the manifest of a stored log line by line, by the rules the live encoder
 * (encoder.ts lineDone) applies, so both give the same entries for every input:
 *
 * - only lines `<time> +0000 <vm>: <text>` from the log's own VM are the build VM's;
 * - such a line followed by a `> cut: ...` line did not end the build VM's line (a piece of
 *   a longer line, a line cut by the size cap, or a line torn by a crash): it grants nothing,
 *   and neither does the build VM line after it, which continues the cut line;
 * - any other build VM line is a whole line, and grants if its text is a manifest line.
 *
 * A cut line's second piece may read `qbuild-sign sha256:...`: it is still no manifest line.
 */
export class StoredManifestReader {
  private readonly own: string;
  private readonly manifest = new Manifest();
  /** The text of the last build VM line, while it may still turn out to be whole. */
  private candidate: string | undefined;
  /** The next build VM line starts a line (the one before was not cut). */
  private lineStart = true;

  constructor(vm: string) {
    this.own = `${ZONE}${vm}: `;
  }

  /** One stored line, without its newline. */
  line(l: string): void {
    if (l.startsWith(MARKER, TIME_LENGTH)) {
      if (l.startsWith(CUT_PREFIX, TIME_LENGTH + MARKER.length)) {
        this.candidate = undefined;
        this.lineStart = false;
      } else {
        this.settle();
      }
      return;
    }
    this.settle();
    const own = l.startsWith(this.own, TIME_LENGTH);
    if (own && this.lineStart) this.candidate = l.slice(TIME_LENGTH + this.own.length);
    this.lineStart = true;
  }

  /** The log ended: the entries, in first-seen order. */
  end(): ManifestEntry[] {
    this.settle();
    return this.manifest.entries;
  }

  /** The last build VM line was not cut: it was a whole line. */
  private settle(): void {
    const c = this.candidate;
    this.candidate = undefined;
    if (c === undefined || !c.startsWith(MANIFEST_PREFIX)) return;
    const e = parseManifestLine(c);
    if (e) this.manifest.add(e);
  }
}

/**
 * The manifest of a stored log's text. A last line without newline is still being written
 * (or was torn): it grants nothing yet, as in the live encoder.
 */
export function manifestFromText(text: string, vm: string): ManifestEntry[] {
  const r = new StoredManifestReader(vm);
  const lines = text.split('\n');
  lines.pop();
  for (const l of lines) r.line(l);
  return r.end();
}
