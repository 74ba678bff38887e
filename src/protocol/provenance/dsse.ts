import { sign, verify, type KeyObject } from 'node:crypto';
import { QbuildError } from '../../errors.js';

/**
 * DSSE v1 envelopes (https://github.com/secure-systems-lab/dsse, envelope.md and protocol.md)
 * with Ed25519 signatures: the envelope the in-toto attestation framework recommends for a
 * Statement. Pure: node:crypto only.
 *
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 *   LEN(s)          = the byte length of s, ASCII decimal, no leading zeros
 *
 * The signature is over PAE(payloadType, payload bytes), never over the JSON envelope, so no
 * canonical JSON is needed: the payload travels as base64 of its exact bytes.
 */

/** The payloadType of an in-toto Statement (in-toto attestation spec v1, envelope.md). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface DsseSignature {
  /** A hint naming the key (unauthenticated: the verifier still checks the signature). */
  keyid: string;
  /** base64 of the raw signature bytes. */
  sig: string;
}

export interface DsseEnvelope {
  /** base64 of the payload bytes. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

export interface DsseSigner {
  keyid: string;
  privateKey: KeyObject;
}

export interface DsseVerifier {
  keyid: string;
  publicKey: KeyObject;
}

const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;

function bad(why: string): never {
  throw new QbuildError('bad-input', `DSSE envelope: ${why}`);
}

/** The pre-authentication encoding: what a DSSE signature signs. */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'ascii'), type,
    Buffer.from(` ${payload.length} `, 'ascii'), payload,
  ]);
}

/** Signs `payload` as `payloadType` with each signer (Ed25519). */
export function signEnvelope(payloadType: string, payload: Uint8Array, ...signers: DsseSigner[]): DsseEnvelope {
  if (signers.length === 0) bad('no signer');
  const msg = pae(payloadType, payload);
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: signers.map((s) => ({ keyid: s.keyid, sig: sign(null, msg, s.privateKey).toString('base64') })),
  };
}

/** Strict standard base64 (RFC 4648 §4, padded): decoding must round-trip exactly. */
function strictBase64(s: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) bad(`${what} is not base64`);
  const b = Buffer.from(s, 'base64');
  if (b.toString('base64') !== s) bad(`${what} is not canonical base64`);
  return b;
}

/**
 * Parses an envelope file. Rules: at most 16 MiB of UTF-8 JSON; an object with exactly the
 * string fields `payload` (base64) and `payloadType`, and `signatures`, a non-empty list of
 * objects each with string `sig` (base64) and an optional string `keyid`; nothing else.
 */
export function parseEnvelope(bytes: Uint8Array | string): DsseEnvelope {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  if (Buffer.byteLength(text) > MAX_ENVELOPE_BYTES) bad('larger than 16 MiB');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['payload', 'payloadType', 'signatures'].includes(k)) bad(`unknown field "${k.slice(0, 40)}"`);
  if (typeof o.payload !== 'string') bad('"payload" must be a string');
  if (typeof o.payloadType !== 'string' || !o.payloadType) bad('"payloadType" must be a non-empty string');
  strictBase64(o.payload, 'payload');
  if (!Array.isArray(o.signatures) || o.signatures.length === 0) bad('"signatures" must be a non-empty list');
  const signatures = o.signatures.map((s: unknown, i) => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) bad(`signature ${i + 1} is not an object`);
    const r = s as Record<string, unknown>;
    for (const k of Object.keys(r)) if (k !== 'keyid' && k !== 'sig') bad(`signature ${i + 1}: unknown field "${k.slice(0, 40)}"`);
    if (typeof r.sig !== 'string') bad(`signature ${i + 1}: "sig" must be a string`);
    strictBase64(r.sig, `signature ${i + 1}`);
    if (r.keyid !== undefined && typeof r.keyid !== 'string') bad(`signature ${i + 1}: "keyid" must be a string`);
    return { keyid: (r.keyid as string | undefined) ?? '', sig: r.sig };
  });
  return { payload: o.payload, payloadType: o.payloadType, signatures };
}

/**
 * Verifies an envelope (DSSE protocol.md, "Verify"): the payloadType must be the expected one;
 * a signature counts when its keyid names a trusted key and it verifies over
 * PAE(payloadType, payload); a signature by a trusted keyid that does not verify rejects the
 * envelope; at least one must verify. Returns the payload bytes, only then safe to parse.
 */
export function openEnvelope(env: DsseEnvelope, payloadType: string, verifiers: DsseVerifier[]): { payload: Buffer; verifiedBy: string[] } {
  if (env.payloadType !== payloadType) bad(`payloadType is ${JSON.stringify(env.payloadType.slice(0, 60))}, not ${payloadType}`);
  const payload = strictBase64(env.payload, 'payload');
  const msg = pae(env.payloadType, payload);
  const verifiedBy: string[] = [];
  for (const s of env.signatures) {
    const v = verifiers.find((k) => k.keyid === s.keyid);
    if (!v) continue;
    if (!verify(null, msg, v.publicKey, strictBase64(s.sig, 'signature'))) bad(`signature by ${s.keyid} does not verify`);
    if (!verifiedBy.includes(v.keyid)) verifiedBy.push(v.keyid);
  }
  if (verifiedBy.length === 0) bad('no signature by a trusted key');
  return { payload, verifiedBy };
}
