import { createHash } from 'node:crypto';
import { QbuildError } from '../../../errors.js';

/**
 * debsign's rewrite of a parent control file (.changes, or .buildinfo for its .dsc) after a
 * child file was signed: the child's checksums and size change, so the parent's lines naming
 * it must too. This follows devscripts' `fixup_control` (debsign, devscripts 2.23) line by
 * line, on bytes (perl without `use utf8`), so the result is what debsign itself writes.
 * Pure: bytes in, bytes out.
 */

/** Perl's `\s` and `\S` on bytes (JS `\s` also matches U+00A0, which is byte 0xA0 in latin1). */
const WS = '[ \\t\\n\\r\\f\\v]';
const NWS = '[^ \\t\\n\\r\\f\\v]';

export interface ChildFile {
  /** The child's file name as the parent lists it (debsign uses the path's basename). */
  name: string;
  /** The child's new bytes (signed). */
  data: Buffer;
}

export type ParentKind = 'changes' | 'buildinfo';

/**
 * The Format rule debsign applies to the parent before touching it:
 * - a `Format:` value must be decimal numbers separated by dots (else "Unrecognised");
 * - a .changes must be format 1.7 or 1.8; a .buildinfo 0.x with x ≤ 2, or 1.0
 *   (else "Unsupported").
 */
function checkFormat(kind: ParentKind, value: string): void {
  if (!/^[0-9]+(\.[0-9]+)*$/.test(value)) throw new QbuildError('bad-input', `Unrecognised .${kind} format: ${value}`);
  const [major = 0, minor = 0] = value.split('.').map((n) => Number(n));
  const unsupported = kind === 'changes'
    ? major !== 1 || minor > 8 || minor < 7
    : (major !== 0 || minor > 2) && (major !== 1 || minor > 0);
  if (unsupported) throw new QbuildError('bad-input', `Unsupported .${kind} format: ${value}`);
}

const hex = (algo: string, data: Buffer) => createHash(algo).update(data).digest('hex');

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Rewrites `parent`'s entries for `child`, as fixup_control does:
 * - sections start at `Files:`, `Checksums-Md5:`, `Checksums-Sha1:`, `Checksums-Sha256:`
 *   (case-insensitive) and end at a blank line or at the next such header; any other
 *   `Checksums-*:` header is refused ("Unknown checksum format");
 * - in each section, the first line ` <sum> <size> <name>` (Files: ` <md5> <size> <section>
 *   <priority> <name>`) naming the child is replaced with its new sum and size;
 * - an already clearsigned parent is refused: debsign unsigns before rewriting, and this
 *   pipeline only ever rewrites the unsigned file the build made.
 */
export function fixupControl(kind: ParentKind, parent: Buffer, child: ChildFile): Buffer {
  const text = parent.toString('latin1');
  if (text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) throw new QbuildError('bad-input', `the .${kind} is already signed`);
  const md5 = hex('md5', child.data);
  const sha1 = hex('sha1', child.data);
  const sha256 = hex('sha256', child.data);
  const size = child.data.length;
  const base = escapeRegExp(child.name.replace(/.*\//s, ''));
  const baseName = child.name.replace(/.*\//s, '');
  const filesRe = new RegExp(`^ (${NWS}+) ([0-9]+) (${NWS}+) (${NWS}+) ${base}${WS}*$`);
  const sumRe = new RegExp(`^ (${NWS}+) ([0-9]+) ${base}${WS}*$`);
  const blankRe = new RegExp(`^${WS}*$`);
  let section: 'files' | 'md5' | 'sha1' | 'sha256' | undefined;
  const out: string[] = [];
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    let l = line;
    const format = new RegExp(`^Format:${WS}+(.*)`).exec(l.replace(/\n$/, ''));
    if (format) checkFormat(kind, format[1]!);
    if (/^Files:/i.test(l)) section = 'files';
    if (/^Checksums-Sha1:/i.test(l)) section = 'sha1';
    else if (/^Checksums-Sha256:/i.test(l)) section = 'sha256';
    else if (/^Checksums-Md5:/i.test(l)) section = 'md5';
    else if (/^Checksums-.*?:/i.test(l)) throw new QbuildError('bad-input', `Unknown checksum format: ${l.trimEnd()}`);
    if (blankRe.test(l)) section = undefined;
    if (section === 'files') {
      const m = filesRe.exec(l);
      if (m) { l = ` ${md5} ${size} ${m[3]} ${m[4]} ${baseName}\n`; section = undefined; }
    } else if (section) {
      if (sumRe.test(l)) {
        const sum = section === 'md5' ? md5 : section === 'sha1' ? sha1 : sha256;
        l = ` ${sum} ${size} ${baseName}\n`;
        section = undefined;
      }
    }
    out.push(l);
  }
  return Buffer.from(out.join(''), 'latin1');
}

/**
 * The .changes after its .dsc and .buildinfo were signed, as `debsign --no-re-sign` writes
 * it when both are already signed: the .dsc's entries first, then the .buildinfo's.
 */
export function fixupChanges(changes: Buffer, children: ChildFile[]): Buffer {
  return children.reduce((parent, c) => fixupControl('changes', parent, c), changes);
}
