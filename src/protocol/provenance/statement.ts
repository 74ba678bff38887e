import { QbuildError } from '../../errors.js';
import type { SignForm } from '../signform.js';

/**
 * An in-toto Statement v1 (https://github.com/in-toto/attestation, spec/v1/statement.md) with
 * an SLSA Provenance v1 predicate (https://slsa.dev/provenance/v1): what the logs VM attests
 * for each log whose manifest named bytes to sign (docs/transparency.md). Pure: values in,
 * values out. Field names are the specifications' own.
 */

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/**
 * Our buildType (SLSA: "a URI indicating what type of build was performed"): one stage of a
 * qbuild component build, recorded as one BuildLog; its parameters are documented in
 * docs/transparency.md ("Provenance").
 */
export const QBUILD_BUILD_TYPE = 'https://qbuild.invalid/build-types/stage-log/v1';

/** in-toto DigestSet: algorithm → lowercase hex. */
export type DigestSet = Record<string, string>;

/** in-toto ResourceDescriptor (spec/v1/resource_descriptor.md), the fields we use. */
export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: DigestSet;
  /** base64 of the resource's bytes. */
  content?: string;
  mediaType?: string;
  annotations?: Record<string, string | number>;
}

export interface Subject {
  name: string;
  digest: DigestSet;
}

/** What the build stage was asked to do: the values that decide its output. */
export interface ExternalParameters {
  component: string;
  tag?: string;
  commit?: string;
  release?: string;
  dist?: string;
}

export interface SlsaProvenance {
  buildDefinition: {
    buildType: string;
    externalParameters: ExternalParameters;
    internalParameters?: Record<string, string>;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string };
    metadata: { invocationId: string; startedOn: string; finishedOn: string };
    byproducts: ResourceDescriptor[];
  };
}

export interface ProvenanceStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: SlsaProvenance;
}

/**
 * The DigestSet key for a manifest digest. A ticketed digest is not always the SHA-256 of the
 * artifact file: an RPM's is of its main header blob (what rpmsign signs), a text or clearsign
 * form's is of the canonical text the signature hashes (src/protocol/signform.ts). in-toto
 * lets a producer name its own algorithms (digest_set.md), and a consumer ignores names it
 * does not know, so a verifier comparing a plain file SHA-256 is never misled.
 */
export function digestKey(form: SignForm, label: string): string {
  if (form === 'text') return 'qbuildTextSha256';
  if (form === 'clearsign') return 'qbuildClearsignSha256';
  return /\.rpm$/.test(label) ? 'qbuildRpmHeaderSha256' : 'sha256';
}

function bad(why: string): never {
  throw new QbuildError('bad-input', `provenance statement: ${why}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Serialises a statement: compact JSON, no trailing newline (the DSSE payload bytes). */
export function encodeStatement(s: ProvenanceStatement): Buffer {
  return Buffer.from(JSON.stringify(s), 'utf8');
}

/**
 * Parses a statement strictly enough to rely on it. Rules: `_type` is exactly
 * https://in-toto.io/Statement/v1; `predicateType` exactly https://slsa.dev/provenance/v1;
 * `subject` is a non-empty list of {name: non-empty string, digest: object of lowercase-hex
 * strings}; the predicate has buildDefinition.buildType (string) and .externalParameters
 * with a string `component`, and runDetails.builder.id, runDetails.metadata's three strings
 * and runDetails.byproducts (a list). Unknown fields are kept (the specs allow them).
 */
export function parseStatement(bytes: Uint8Array): ProvenanceStatement {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    bad('not JSON');
  }
  if (!isObj(v)) bad('not a JSON object');
  if (v._type !== STATEMENT_TYPE) bad(`_type is not ${STATEMENT_TYPE}`);
  if (v.predicateType !== SLSA_PROVENANCE_V1) bad(`predicateType is not ${SLSA_PROVENANCE_V1}`);
  if (!Array.isArray(v.subject) || v.subject.length === 0) bad('subject must be a non-empty list');
  for (const s of v.subject) {
    if (!isObj(s) || typeof s.name !== 'string' || !s.name || !isObj(s.digest)) bad('each subject needs a name and a digest');
    for (const d of Object.values(s.digest)) if (typeof d !== 'string' || !/^[0-9a-f]+$/.test(d)) bad('digest values must be lowercase hex');
  }
  const p = v.predicate;
  if (!isObj(p) || !isObj(p.buildDefinition) || !isObj(p.runDetails)) bad('predicate needs buildDefinition and runDetails');
  const bd = p.buildDefinition;
  if (typeof bd.buildType !== 'string') bad('buildDefinition.buildType must be a string');
  if (!isObj(bd.externalParameters) || typeof bd.externalParameters.component !== 'string') bad('externalParameters.component must be a string');
  const rd = p.runDetails;
  if (!isObj(rd.builder) || typeof rd.builder.id !== 'string') bad('runDetails.builder.id must be a string');
  const m = rd.metadata;
  if (!isObj(m) || typeof m.invocationId !== 'string' || typeof m.startedOn !== 'string' || typeof m.finishedOn !== 'string') {
    bad('runDetails.metadata needs invocationId, startedOn and finishedOn');
  }
  if (!Array.isArray(rd.byproducts)) bad('runDetails.byproducts must be a list');
  return v as unknown as ProvenanceStatement;
}
