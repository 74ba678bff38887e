import { gunzipSync } from 'node:zlib';
import { QbuildError } from '../../errors.js';
import { field, parseParagraphs } from './control.js';

/** A binary package as a Packages index lists it (Debian Policy §5.3, apt-ftparchive's fields). */
export interface PackagesEntry {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  size: number;
  sha256: string;
}

/** Debian's whole main Packages index is ~50 MiB uncompressed; more is refused, not held in memory. */
const MAX_INDEX_BYTES = 256 << 20;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

/**
 * A Packages index's text from its bytes. Rules: gzip (Packages.gz) is inflated, to at most
 * MAX_INDEX_BYTES; xz is refused with the way out (this tool has no xz reader); anything
 * else is read as text.
 */
export function packagesText(bytes: Buffer): string {
  if (bytes.subarray(0, 2).equals(GZIP_MAGIC)) {
    try {
      return gunzipSync(bytes, { maxOutputLength: MAX_INDEX_BYTES }).toString('utf8');
    } catch (e) {
      throw new QbuildError('bad-input', `Packages.gz: ${(e as Error).message}`);
    }
  }
  if (bytes.subarray(0, 6).equals(XZ_MAGIC)) throw new QbuildError('bad-input', 'an xz-compressed Packages index: give the suite\'s Packages or Packages.gz');
  return bytes.toString('utf8');
}

/**
 * The entries of a Packages index whose SHA256 and Size are `sha256` and `size`. Rules: the
 * index parses as deb822 (control.ts); Size matches only as the plain decimal apt-ftparchive
 * writes (no sign, leading zero, hex or exponent form); an entry that matches must name its Package, Version,
 * Architecture and Filename, else it is refused (an index we cannot read proves nothing).
 */
export function packagesWithDigest(text: string, sha256: string, size: number): PackagesEntry[] {
  const out: PackagesEntry[] = [];
  for (const p of parseParagraphs(text)) {
    if (field(p, 'SHA256')?.trim() !== sha256 || field(p, 'Size')?.trim() !== String(size)) continue;
    const get = (name: string) => {
      const v = field(p, name)?.trim();
      if (!v) throw new QbuildError('bad-input', `Packages: the entry with SHA256 ${sha256} has no ${name} field`);
      return v;
    };
    out.push({ package: get('Package'), version: get('Version'), architecture: get('Architecture'), filename: get('Filename'), size, sha256 });
  }
  return out;
}
