/**
 * ASCII armor (RFC 4880 §6) with the CRC-24 checksum line GnuPG 2.2 writes. Pure and
 * dependency-free: the keys VM armors its signatures with it on every call, and the command
 * parser checks a clearsigned command's checksum with crc24.
 */

export type ArmorType = 'PGP SIGNATURE' | 'PGP MESSAGE' | 'PGP PUBLIC KEY BLOCK';

/** CRC-24 of RFC 4880 §6.1 (the armor checksum). */
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

/** `data` armored as `type`: 64-character base64 lines and the `=XXXX` CRC-24 line, as GnuPG 2.2 writes it. */
export function armor(type: ArmorType, data: Uint8Array): string {
  const b64 = Buffer.from(data).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  const crc = crc24(data);
  const crcB64 = Buffer.from([crc >> 16, (crc >> 8) & 0xff, crc & 0xff]).toString('base64');
  return `-----BEGIN ${type}-----\n\n${lines.join('\n')}\n=${crcB64}\n-----END ${type}-----\n`;
}
