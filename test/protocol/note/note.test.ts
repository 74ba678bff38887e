import { describe, expect, it } from 'vitest';
import {
  ed25519KeyId, generateNoteKey, noteKeyId, openNote, parseNote, parseSignerKey, parseVerifierKey, signNote, verifierKeyOf,
} from '../../../src/protocol/note/note.js';

// Known answer from the documentation of golang.org/x/mod/sumdb/note (data only).
const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

// The example of the C2SP signed-note specification (c2sp.org/signed-note, "Example").
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

describe('signed note (C2SP)', () => {
  it('verifies the example note of the C2SP specification with its verifier key', () => {
    const v = parseVerifierKey(SPEC_VKEY);
    expect(v.keyId.toString(16)).toBe('530d903a');
    expect(openNote(SPEC_NOTE, [v])).toEqual({ text: 'This is an example message.\n', verifiedBy: ['example.com/foo'] });
    expect(() => openNote(SPEC_NOTE.replace('example message', 'example massage'), [v])).toThrow(/does not verify/);
  });

  it('keys of another signature type (0x04 cosignature keys) have their own key ID and string', () => {
    const k = generateNoteKey('witness.example/w1', 0x04);
    expect(Buffer.from(k.verifierKey.split('+')[2]!, 'base64')[0]).toBe(0x04);
    const v = parseVerifierKey(k.verifierKey, 0x04);
    expect(v.keyId).toBe(noteKeyId('witness.example/w1', 0x04, v.publicKey));
    expect(v.keyId).not.toBe(ed25519KeyId('witness.example/w1', v.publicKey));
    expect(verifierKeyOf(parseSignerKey(k.signerKey, 0x04), 0x04)).toBe(k.verifierKey);
    expect(() => parseVerifierKey(k.verifierKey)).toThrow(/type 0x01/);
    expect(() => parseVerifierKey(SPEC_VKEY, 0x04)).toThrow(/type 0x04/);
  });

  it('reproduces the Go reference signature byte for byte', () => {
    const signer = parseSignerKey(SKEY);
    expect(signer.keyId.toString(16)).toBe('c74f20a3');
    expect(signNote(TEXT, signer)).toBe(NOTE);
    expect(verifierKeyOf(signer)).toBe(VKEY);
  });

  it('opens the reference note with its verifier key', () => {
    const v = parseVerifierKey(VKEY);
    expect(v.keyId).toBe(ed25519KeyId('PeterNeumann', v.publicKey));
    expect(openNote(NOTE, [v])).toEqual({ text: TEXT, verifiedBy: ['PeterNeumann'] });
    expect(openNote(Buffer.from(NOTE), [v]).text).toBe(TEXT);
  });

  it('round-trips a generated key', () => {
    const { signerKey, verifierKey } = generateNoteKey('logs.example/qbuild');
    const note = signNote('hello\n\nworld\n', parseSignerKey(signerKey));
    expect(openNote(note, [parseVerifierKey(verifierKey)]).text).toBe('hello\n\nworld\n');
  });

  it('rejects a tampered text or signature', () => {
    const v = parseVerifierKey(VKEY);
    expect(() => openNote(NOTE.replace('problem,', 'problem;'), [v])).toThrow(/does not verify/);
    const sig = NOTE.split('\u2014 PeterNeumann ')[1]!;
    const flipped = `${sig[0] === 'x' ? 'y' : 'x'}${sig.slice(1)}`;
    expect(() => openNote(`${TEXT}\n\u2014 PeterNeumann ${flipped}`, [v])).toThrow();
  });

  it('ignores unknown keys but needs one trusted signature', () => {
    const other = generateNoteKey('other');
    expect(() => openNote(NOTE, [parseVerifierKey(other.verifierKey)])).toThrow(/no signature by a trusted key/);
    const both = signNote(TEXT, parseSignerKey(SKEY), parseSignerKey(other.signerKey));
    expect(openNote(both, [parseVerifierKey(VKEY)]).verifiedBy).toEqual(['PeterNeumann']);
  });

  it('rejects malformed notes and keys', () => {
    expect(() => parseNote('no blank line\n\u2014 a AAAAAAA=\n')).toThrow();
    expect(() => parseNote(`${TEXT}\n`)).toThrow();
    expect(() => parseNote(`${TEXT}\n- PeterNeumann AAAA\n`)).toThrow(/start with/);
    expect(() => parseNote(`bad\u0001\n\n\u2014 a AAAAAAA=\n`)).toThrow(/control/);
    expect(() => parseNote(Buffer.from([0xff, 0x0a, 0x0a]))).toThrow(/UTF-8/);
    expect(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(/does not match/);
    expect(() => parseVerifierKey('Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow();
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3')).toThrow();
    expect(() => signNote('no newline', parseSignerKey(SKEY))).toThrow();
  });
});
