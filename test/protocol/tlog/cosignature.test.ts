import { createHash, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseNote, parseSignerKey, parseVerifierKey } from '../../../src/protocol/note/note.js';
import { openCheckpoint, signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import {
  cosignCheckpoint, cosignedMessage, generateWitnessKey, openCosignatures, parseWitnessSignerKey, parseWitnessVerifierKey,
  verifyCosignature, witnessVerifierKeyOf,
} from '../../../src/protocol/tlog/cosignature.js';
import { emptyRoot } from '../../../src/protocol/tlog/merkle.js';

// The example of c2sp.org/tlog-cosignature: the spec publishes no witness key, so what can be
// checked against it is the framing (4-byte key ID, big-endian timestamp, 64-byte signature)
// and the signed message layout it shows.
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_NOTE = `${SPEC_BODY}\n`
  + '\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n'
  + '\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n';

const origin = 'logs.example/qbuild';
const body = `${origin}\n12\n${emptyRoot().toString('base64')}\n`;

describe('tlog-cosignature (Ed25519, cosignature/v1)', () => {
  it('frames the specification example as key ID, timestamp 1679315147 and a 64-byte signature', () => {
    const { text, signatures } = parseNote(SPEC_NOTE);
    expect(text).toBe(SPEC_BODY);
    const w = signatures[1]!;
    expect(w.name).toBe('witness.example.com/w1');
    expect(w.keyId.toString(16)).toBe('8d66cf3f');
    expect(w.signature).toHaveLength(72);
    expect(Number(w.signature.readBigUInt64BE(0))).toBe(1679315147);
    expect(cosignedMessage(SPEC_BODY, 1679315147).toString()).toBe(
      'cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
  });

  it('makes type-0x04 keys: key ID = SHA-256(name || 0x0A || 0x04 || key)[:4], vkey base64(0x04 || key)', () => {
    const k = generateWitnessKey('witness.example/w1');
    const v = parseWitnessVerifierKey(k.verifierKey);
    const id = createHash('sha256').update(Buffer.concat([Buffer.from('witness.example/w1\n'), Buffer.from([4]), v.publicKey])).digest().subarray(0, 4);
    expect(v.keyId).toBe(id.readUInt32BE(0));
    expect(k.verifierKey).toBe(`witness.example/w1+${id.toString('hex')}+${Buffer.concat([Buffer.from([4]), v.publicKey]).toString('base64')}`);
    expect(witnessVerifierKeyOf(parseWitnessSignerKey(k.signerKey))).toBe(k.verifierKey);
    expect(() => parseWitnessVerifierKey(generateNoteKey('x').verifierKey)).toThrow(/type 0x04/);
  });

  it('signs a line that verifies: timestamp, then Ed25519 over the cosigned message', () => {
    const k = generateWitnessKey('witness.example/w1');
    const signer = parseWitnessSignerKey(k.signerKey);
    const v = parseWitnessVerifierKey(k.verifierKey);
    const line = cosignCheckpoint(body, signer, 1_780_000_000);
    expect(line).toMatch(/^\u2014 witness\.example\/w1 [A-Za-z0-9+/]+=*\n$/);
    const sig = parseNote(`${body}\n${line}`).signatures[0]!;
    expect(sig.keyId).toBe(v.keyId);
    expect(Number(sig.signature.readBigUInt64BE(0))).toBe(1_780_000_000);
    expect(verify(null, Buffer.from(`cosignature/v1\ntime 1780000000\n${body}`), v.key, sig.signature.subarray(8))).toBe(true);
    expect(verifyCosignature(body, sig, v)).toBe(1_780_000_000);
  });

  it('rejects a tampered body, timestamp or signature, and ignores other keys', () => {
    const k = generateWitnessKey('witness.example/w1');
    const v = parseWitnessVerifierKey(k.verifierKey);
    const sig = parseNote(`${body}\n${cosignCheckpoint(body, parseWitnessSignerKey(k.signerKey), 1000)}`).signatures[0]!;
    expect(verifyCosignature(body.replace('\n12\n', '\n13\n'), sig, v)).toBeUndefined();
    const later = Buffer.from(sig.signature);
    later.writeBigUInt64BE(1001n, 0);
    expect(verifyCosignature(body, { ...sig, signature: later }, v)).toBeUndefined();
    const flipped = Buffer.from(sig.signature);
    flipped[40]! ^= 1;
    expect(verifyCosignature(body, { ...sig, signature: flipped }, v)).toBeUndefined();
    expect(verifyCosignature(body, { ...sig, signature: sig.signature.subarray(0, 71) }, v)).toBeUndefined();
    const huge = Buffer.from(sig.signature);
    huge.writeBigUInt64BE(2n ** 63n, 0);
    expect(verifyCosignature(body, { ...sig, signature: huge }, v)).toBeUndefined();
    const other = parseWitnessVerifierKey(generateWitnessKey('witness.example/w1').verifierKey);
    expect(verifyCosignature(body, sig, other)).toBeUndefined();
    expect(() => cosignCheckpoint('not a checkpoint\n', parseWitnessSignerKey(k.signerKey), 1)).toThrow(/checkpoint/);
    expect(() => cosignCheckpoint(body, parseWitnessSignerKey(k.signerKey), -1)).toThrow(/timestamp/);
  });

  it('a checkpoint note carries the log signature and cosignatures; each key finds its own', () => {
    const log = generateNoteKey(origin);
    const w1 = generateWitnessKey('witness.example/w1');
    const w2 = generateWitnessKey('witness.example/w2');
    const w3 = generateWitnessKey('witness.example/w3');
    const c = { origin, size: 12, root: emptyRoot(), extensions: [] };
    const signed = signCheckpoint(c, parseSignerKey(log.signerKey));
    const note = signed
      + cosignCheckpoint(body, parseWitnessSignerKey(w1.signerKey), 100)
      + cosignCheckpoint(body, parseWitnessSignerKey(w2.signerKey), 200)
      + cosignCheckpoint(body, parseWitnessSignerKey(w1.signerKey), 300);
    const keys = [w1, w2, w3].map((w) => parseWitnessVerifierKey(w.verifierKey));
    expect(openCheckpoint(note, [parseVerifierKey(log.verifierKey)], origin)).toEqual(c);
    expect(openCosignatures(note, keys)).toEqual([
      { name: 'witness.example/w1', keyId: keys[0]!.keyId, time: 100 }, { name: 'witness.example/w2', keyId: keys[1]!.keyId, time: 200 },
    ]);
    // Two keys under one name (a rotated witness key) are two entries; the keys VM counts names (countWitnesses).
    const w1b = generateWitnessKey('witness.example/w1');
    const both = note + cosignCheckpoint(body, parseWitnessSignerKey(w1b.signerKey), 400);
    const withB = [...keys, parseWitnessVerifierKey(w1b.verifierKey)];
    expect(openCosignatures(both, withB).map((x) => [x.name, x.time])).toEqual([['witness.example/w1', 100], ['witness.example/w2', 200], ['witness.example/w1', 400]]);
    expect(openCosignatures(note, withB).some((x) => x.keyId === withB[3]!.keyId)).toBe(false);
    expect(openCosignatures(signed, keys)).toEqual([]);
    // A line that names a configured witness but does not verify rejects the note.
    const forged = signed + cosignCheckpoint(body.replace('\n12\n', '\n11\n'), parseWitnessSignerKey(w2.signerKey), 5);
    expect(() => openCosignatures(forged, keys)).toThrow(/cosignature by witness.example\/w2 does not verify/);
  });
});
