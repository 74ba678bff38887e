/** ASCII armor (RFC 4880 §6) with the CRC-24 checksum line GnuPG 2.2 writes. */

export type ArmorType = 'PGP SIGNATURE' | 'PGP MESSAGE' | 'PGP PUBLIC KEY BLOCK';

export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export function armor(type: ArmorType, data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  const crc = crc24(data);
  const crcB64 = Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return `-----BEGIN ${type}-----\n\n${lines.join('\n')}\n=${crcB64}\n-----END ${type}-----\n`;
}

/**
 * Undoes armor: the first BEGIN/END block of any type. Rules: header lines up to the first
 * empty line are skipped; the checksum, when present, must match.
 */
export function dearmor(text: string): { type: string; data: Buffer } {
  const m = /-----BEGIN ([A-Z ,0-9/]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw new Error('no ASCII-armored block found');
  const lines = m[2]!.split(/\r?\n/);
  let i = 0;
  while (i < lines.length && lines[i]!.trim() !== '' && /^[A-Za-z-]+: /.test(lines[i]!)) i++;
  const body: string[] = [];
  let checksum: string | undefined;
  for (const line of lines.slice(i)) {
    const t = line.trim();
    if (!t) continue;
    if (t.startsWith('=') && t.length === 5) checksum = t.slice(1);
    else body.push(t);
  }
  const data = Buffer.from(body.join(''), 'base64');
  if (checksum !== undefined) {
    const c = crc24(data);
    if (Buffer.from([c >> 16, (c >> 8) & 0xff, c & 0xff]).toString('base64') !== checksum) throw new Error('armor checksum mismatch');
  }
  return { type: m[1]!, data };
}
