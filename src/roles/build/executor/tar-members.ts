import { closeSync, openSync, readSync } from 'node:fs';
import { QbuildError } from '../../../errors.js';

/**
 * The first check of a tar a disposable sent back, before anything is unpacked: its headers
 * are read here (the data is skipped), because GNU tar itself quietly strips a leading `/` and
 * skips `..` members, and a possibly hostile disposable must be refused, not repaired.
 * Rules, each a one-line refusal (QbuildError 'stage'):
 * - header checksums are right (as GNU tar checks them); the archive ends at a zero block,
 *   as GNU tar reads it; a truncated archive is refused;
 * - only regular files, directories, symlinks, hard links and GNU long-name/long-link
 *   records: devices, FIFOs, sparse, multi-volume and pax records are refused;
 * - a member name (after `./`) is relative, with no `..` component;
 * - a symlink's target is relative and, resolved from the link's directory component by
 *   component, never climbs above the top (whether it escapes through other symlinks is
 *   checked on the unpacked tree, see returned-tree.ts);
 * - a hard link's target is a member name by the same rule as names.
 */
export function checkTarMembers(file: string): void {
  const fd = openSync(file, 'r');
  try {
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = Buffer.alloc(512);
      const n = readSync(fd, h, 0, 512, pos);
      if (n === 0) return refuse('the archive has no end-of-archive block');
      if (n < 512) return refuse('the archive is truncated');
      pos += 512;
      if (h.every((b) => b === 0)) return;
      if (!checksumOk(h)) refuse('a tar header has a bad checksum');
      const type = String.fromCharCode(h[156]!);
      const size = sizeOf(h);
      const dataBlocks = Math.ceil(size / 512) * 512;
      if (type === 'L' || type === 'K') {
        if (size > 64 * 1024) refuse('a long name record over 64 KiB');
        const d = Buffer.alloc(size);
        if (readSync(fd, d, 0, size, pos) < size) refuse('the archive is truncated');
        const text = cString(d);
        if (type === 'L') longName = text; else longLink = text;
        pos += dataBlocks;
        continue;
      }
      const prefix = h[345] === 0 ? '' : cString(h.subarray(345, 500));
      const raw = longName ?? (prefix && isUstar(h) ? `${prefix}/${cString(h.subarray(0, 100))}` : cString(h.subarray(0, 100)));
      const link = longLink ?? cString(h.subarray(157, 257));
      longName = undefined;
      longLink = undefined;
      const name = memberName(raw);
      if (type === '0' || type === '\0' || type === '5') { /* file or directory */ }
      else if (type === '2') symlinkProblem(name, link);
      else if (type === '1') memberName(link);
      else refuse(`${JSON.stringify(name.slice(0, 80))} is ${KIND[type] ?? `of tar type ${JSON.stringify(type)}`}, not a file, directory or link`);
      pos += dataBlocks;
    }
  } finally {
    closeSync(fd);
  }
}

const KIND: Record<string, string> = { '3': 'a character device', '4': 'a block device', '6': 'a FIFO', S: 'a sparse file', x: 'a pax record', g: 'a pax record' };

function refuse(why: string): never {
  throw new QbuildError('stage', `refused what the disposable returned: ${why}`);
}

/** A member name without its `./` prefixes, by the name rule; `.` (the top itself) is ''. */
function memberName(raw: string): string {
  if (raw.startsWith('/')) refuse(`${JSON.stringify(raw.slice(0, 80))} is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse(`${JSON.stringify(raw.slice(0, 80))} contains ..`);
  return parts.join('/');
}

function symlinkProblem(name: string, target: string): void {
  const show = `${JSON.stringify(name.slice(0, 80))} -> ${JSON.stringify(target.slice(0, 80))}`;
  if (target === '') refuse(`${show}: a symlink to nothing`);
  if (target.startsWith('/')) refuse(`${show}: a symlink to an absolute path`);
  let depth = name.split('/').length - 1; // the link's directory
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    depth += c === '..' ? -1 : 1;
    if (depth < 0) refuse(`${show}: a symlink pointing outside the work dir`);
  }
}

function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString('utf8');
}

/**
 * POSIX ustar (magic `ustar\0`), whose bytes 345–499 are a name prefix. GNU's own format
 * (`ustar  \0`) keeps times there, which GNU tar does not read as a name: neither may this
 * check, or it would judge another name than the one unpacked.
 */
function isUstar(h: Buffer): boolean {
  return h.subarray(257, 263).toString('latin1') === 'ustar\0';
}

/** Size field: octal, or base-256 when its first byte has the top bit (GNU, over 8 GiB). */
function sizeOf(h: Buffer): number {
  const f = h.subarray(124, 136);
  if (f[0]! & 0x80) {
    if (f[0] !== 0x80) refuse('a tar header has a negative or huge size');
    let v = 0;
    for (let i = 1; i < 12; i++) v = v * 256 + f[i]!;
    if (!Number.isSafeInteger(v)) refuse('a tar header has a huge size');
    return v;
  }
  const text = cString(f).trim();
  if (!/^[0-7]*$/.test(text)) refuse('a tar header has a bad size');
  return text === '' ? 0 : parseInt(text, 8);
}

/** As GNU tar: the sum of the header's bytes with the checksum field as spaces, unsigned or signed. */
function checksumOk(h: Buffer): boolean {
  const stored = parseInt(cString(h.subarray(148, 156)).trim(), 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}
