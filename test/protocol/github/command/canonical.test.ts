import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCanonicalCommand } from '../../../../src/protocol/github/command/canonical.js';
import { crc24 } from '../../../../src/protocol/pgp/armor.js';
import { TestSigner } from '../../../helpers/gpg.js';
import { oneLineError } from '../../../helpers/one-line-error.js';

const LINE = 'Build-iso r4.3 4.3.0 202612020130';
let signer: TestSigner;
let second: string;
let block: string;

/** The armored signature's base64 data and CRC line rebuilt around `packet` (to break one field of real gpg bytes). */
function rearmor(text: string, packet: Buffer): string {
  const head = text.slice(0, text.indexOf('-----BEGIN PGP SIGNATURE-----\n') + 30);
  const b64 = packet.toString('base64').match(/.{1,64}/g)!.join('\n');
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(packet), 0, 3);
  return `${head}\n${b64}\n=${crc.toString('base64')}\n-----END PGP SIGNATURE-----\n`;
}

beforeAll(() => {
  signer = new TestSigner();
  second = signer.generateKey('second <second@example.invalid>');
  block = signer.clearsign(`${LINE}\n`);
});
afterAll(() => signer.cleanup());

describe('parseCanonicalCommand on real gpg --clearsign output', () => {
  it('accepts gpg\'s block: the line, the command, the one packet and its digest', () => {
    const c = parseCanonicalCommand(block);
    expect(c.hash).toBe('SHA256');
    expect(c.line).toBe(LINE);
    expect(c.command).toEqual({ kind: 'build-iso', release: 'r4.3', version: '4.3.0', timestamp: '202612020130' });
    expect(c.packet[0]! & 0x80).toBe(0x80);
    // The replay identity: the hashed part (fields and hashed subpackets) and the line, not the
    // whole packet (gpg writes an old-format packet with a one-octet length: body at 2).
    expect(c.packet[0]).toBe(0x88);
    const body = c.packet.subarray(2);
    expect(c.digest).toBe(createHash('sha256').update(body.subarray(0, 6 + body.readUInt16BE(4))).update(LINE).digest('hex'));
  });

  it('accepts SHA512 and SHA384', () => {
    for (const algo of ['SHA512', 'SHA384']) {
      const b = signer.gpgSync(['--clearsign', '--digest-algo', algo], { input: `${LINE}\n` });
      expect(parseCanonicalCommand(b).hash).toBe(algo);
    }
  });

  it('gives the same digest for the same block, another for another signature of the same line', () => {
    const again = signer.gpgSync(['--clearsign', '--digest-algo', 'SHA256', '-u', second], { input: `${LINE}\n` });
    expect(parseCanonicalCommand(block).digest).toBe(parseCanonicalCommand(block).digest);
    expect(parseCanonicalCommand(again).digest).not.toBe(parseCanonicalCommand(block).digest);
  });

  const refused = (text: string, why: RegExp) => expect(oneLineError('bad-input', () => parseCanonicalCommand(text))).toMatch(why);

  it('refuses more than 8192 bytes', () => refused(block.replace('Hash: SHA256\n', `Hash: SHA256\n${'x'.repeat(8192)}`), /longer than 8192/));
  it('refuses a CR (not what gpg wrote)', () => refused(block.replace(/\n/g, '\r\n'), /printable ASCII/));
  it('refuses text before the block', () => refused(`hi\n${block}`, /does not start/));
  it('refuses a comment with two signed blocks', () => refused(block + signer.clearsign('Build-iso r4.3 4.3.1 202612020130\n'), /more than one signed block/));
  it('refuses Hash: SHA1', () => refused(signer.gpgSync(['--clearsign', '--digest-algo', 'SHA1'], { input: `${LINE}\n` }), /only armor header/));
  it('refuses two Hash headers', () => refused(block.replace('Hash: SHA256\n', 'Hash: SHA256\nHash: SHA256\n'), /only armor header/));
  it('refuses a Hash header naming another hash than the signature\'s', () => {
    const b = signer.gpgSync(['--clearsign', '--digest-algo', 'SHA512'], { input: `${LINE}\n` });
    refused(b.replace('Hash: SHA512', 'Hash: SHA256'), /not the Hash: header's SHA256/);
  });
  it('refuses signed text of two lines', () => refused(signer.clearsign(`${LINE}\nBuild-iso r4.3 4.3.1 202612020130\n`), /exactly one line/));
  it('refuses a dash-escaped line (gpg escapes a line starting with -)', () => {
    const b = signer.clearsign(`-${LINE}\n`);
    expect(b).toContain(`- -${LINE}`);
    refused(b, /starts with "-"/);
  });
  it('refuses a line the grammar refuses (double space)', () => refused(signer.clearsign('Build-iso r4.3  4.3.0 202612020130\n'), /double space/));
  it('refuses armor headers in the signature (gpg --comment)', () => refused(signer.gpgSync(['--clearsign', '--comment', 'hello'], { input: `${LINE}\n` }), /armor headers/));
  it('refuses a missing checksum line', () => refused(block.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n'), /checksum line/));
  it('refuses a checksum that does not match', () => {
    const crc = /\n=([A-Za-z0-9+/]{4})\n/.exec(block)![1]!;
    refused(block.replace(`=${crc}`, `=${crc === 'AAAA' ? 'AAAB' : 'AAAA'}`), /CRC-24/);
  });
  it('refuses non-canonical base64', () => refused(block.replace(/\n-----BEGIN PGP SIGNATURE-----\n\n(.)/, '\n-----BEGIN PGP SIGNATURE-----\n\n$1='), /canonical base64|CRC/));
  it('refuses anything after the END line', () => refused(`${block}x\n`, /does not end with/));
  it('refuses two signature packets (gpg --clearsign with two keys)', () => {
    const two = signer.gpgSync(['--clearsign', '--digest-algo', 'SHA256', '-u', 'test@example.invalid', '-u', second], { input: `${LINE}\n` });
    refused(two, /data after the signature packet/);
  });
  it('refuses a packet that is not a signature', () => {
    const userId = Buffer.concat([Buffer.from([0xcd, 3]), Buffer.from('abc')]);
    refused(rearmor(block, userId), /not a signature \(tag 13\)/);
  });
  it('refuses a signature of type 0x00 (binary, gpg --detach-sign)', () => {
    const det = Buffer.from(signer.gpgSync(['--detach-sign', '--armor', '--digest-algo', 'SHA256'], { input: LINE }), 'utf8');
    const packet = Buffer.from(det.toString().split('\n\n')[1]!.split('\n=')[0]!.replace(/\n/g, ''), 'base64');
    refused(rearmor(block, packet), /type 0x01/);
  });
  it('refuses a version 3 signature', () => {
    const packet = Buffer.from(parseCanonicalCommand(block).packet);
    const header = packet[0]! & 0x40 ? 2 : 1 + (1 << (packet[0]! & 3));
    packet[header] = 3;
    refused(rearmor(block, packet), /only version 4/);
  });
  it('refuses a truncated packet', () => {
    const packet = parseCanonicalCommand(block).packet;
    refused(rearmor(block, packet.subarray(0, packet.length - 1)), /truncated/);
  });
  it('refuses a hashed subpacket area longer than the packet', () => {
    const body = Buffer.from([4, 0x01, 22, 8, 0xff, 0xf0, 0, 0]);
    refused(rearmor(block, Buffer.concat([Buffer.from([0xc2, body.length]), body])), /truncated signature packet \(hashed subpackets\)/);
  });
});
