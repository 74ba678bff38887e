import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IN_TOTO_PAYLOAD_TYPE, openEnvelope, pae, parseEnvelope, signEnvelope } from '../../../src/protocol/provenance/dsse.js';

const key = (keyid: string) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: { keyid, privateKey }, verifier: { keyid, publicKey } };
};

describe('DSSE v1', () => {
  it('PAE matches the specification vector', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString())
      .toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('LEN counts bytes, not characters', () => {
    expect(pae('t', Buffer.from('\u00e9')).toString('latin1')).toBe('DSSEv1 1 t 2 \u00c3\u00a9');
  });

  it('an envelope round-trips through JSON and verifies with the signing key only', () => {
    const a = key('a');
    const b = key('b');
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"x":1}'), a.signer);
    const parsed = parseEnvelope(JSON.stringify(env));
    expect(openEnvelope(parsed, IN_TOTO_PAYLOAD_TYPE, [a.verifier]).payload.toString()).toBe('{"x":1}');
    expect(() => openEnvelope(parsed, IN_TOTO_PAYLOAD_TYPE, [b.verifier])).toThrow(/no signature by a trusted key/);
    // The same key under the name b's keyid: the signature is checked, and fails.
    expect(() => openEnvelope(parsed, IN_TOTO_PAYLOAD_TYPE, [{ keyid: 'a', publicKey: b.verifier.publicKey }])).toThrow(/does not verify/);
  });

  it('a changed payload or payloadType no longer verifies', () => {
    const a = key('a');
    const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"x":1}'), a.signer);
    const changed = { ...env, payload: Buffer.from('{"x":2}').toString('base64') };
    expect(() => openEnvelope(changed, IN_TOTO_PAYLOAD_TYPE, [a.verifier])).toThrow(/does not verify/);
    expect(() => openEnvelope(env, 'application/json', [a.verifier])).toThrow(/payloadType/);
  });

  it('refuses malformed envelopes with one line', () => {
    expect(() => parseEnvelope('[]')).toThrow(/not a JSON object/);
    expect(() => parseEnvelope('{"payload":"a","payloadType":"t","signatures":[{"sig":"AA=="}]}')).toThrow(/payload is not base64/);
    expect(() => parseEnvelope('{"payload":"","payloadType":"t","signatures":[]}')).toThrow(/non-empty list/);
    expect(() => parseEnvelope('{"payload":"","payloadType":"t","signatures":[{"sig":"AA=="}],"x":1}')).toThrow(/unknown field "x"/);
  });
});
