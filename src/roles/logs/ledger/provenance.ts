import type { NoteSigner, NoteVerifier } from '../../../protocol/note/note.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, type DsseSigner, type DsseVerifier } from '../../../protocol/provenance/dsse.js';
import { readBuildMeta } from '../../../protocol/provenance/build-meta.js';
import {
  QBUILD_BUILD_TYPE, SLSA_PROVENANCE_V1, STATEMENT_TYPE, digestKey, encodeStatement,
  type ExternalParameters, type ProvenanceStatement,
} from '../../../protocol/provenance/statement.js';
import type { SignForm } from '../../../protocol/signform.js';

/**
 * Provenance for a ledger entry (issue 13 item 4, docs/transparency.md): an in-toto Statement
 * v1 with an SLSA Provenance v1 predicate, in a DSSE envelope signed with the logs VM's
 * Ed25519 key (the one tickets and checkpoints use), published beside the log as
 * `<log path>.intoto.json` in the log's own commit.
 *
 * The logs VM attests what it saw: the subjects are the digests the log's manifest named;
 * component, tag, commit, release and dist are the build VM's `qbuild-meta` lines at the top
 * of the log (src/protocol/provenance/build-meta.ts), the component falling back to the log's
 * sub-directory (`<vm>/<component>/log_…`, the BuildLog argument the build VM passes).
 */

/** The ledger entry's fields provenance uses (src/protocol/tlog/entry.ts LedgerEntry has them all). */
export interface ProvenanceEntry {
  vm: string;
  path: string;
  logSha256: string;
  digests: { form: SignForm; sha256: string; label: string }[];
  /** ISO-8601 UTC. */
  start: string;
  end: string;
}

export interface ProvenanceInput {
  entry: ProvenanceEntry;
  leafIndex: number;
  /** The checkpoint (signed note) that first includes the entry. */
  checkpoint: string;
  buildVm: string;
  env?: string;
  /** The stored log's bytes, for its `qbuild-meta` lines; without them only the path is used. */
  log?: Uint8Array;
}

/** The file name suffix of a provenance envelope next to its log. */
export const PROVENANCE_SUFFIX = '.intoto.json';

/** The DSSE keyid of a note key: `<name>+<8 hex key ID>`, the first two fields of its verifier key. */
export function provenanceKeyId(k: NoteVerifier): string {
  return `${k.name}+${k.keyId.toString(16).padStart(8, '0')}`;
}

export function dsseSignerOf(s: NoteSigner): DsseSigner {
  return { keyid: provenanceKeyId(s), privateKey: s.privateKey };
}

export function dsseVerifierOf(v: NoteVerifier): DsseVerifier {
  return { keyid: provenanceKeyId(v), publicKey: v.key };
}

/** SLSA builder.id: the build qube and its env, as a URI. */
export function builderId(buildVm: string, env?: string): string {
  return `https://qbuild.invalid/builders/${encodeURIComponent(env ?? 'unknown-env')}/${encodeURIComponent(buildVm)}`;
}

/** The statement for one entry (pure; exported for tests and `qbuild verify`). */
export function provenanceStatement(input: ProvenanceInput): ProvenanceStatement {
  const { entry } = input;
  const meta = input.log ? readBuildMeta(input.log, entry.vm) : {};
  const segs = entry.path.split('/');
  const external: ExternalParameters = { component: meta.component ?? (segs.length > 2 ? segs[1]! : '') };
  if (meta.tag) external.tag = meta.tag;
  if (meta.commit) external.commit = meta.commit;
  if (meta.release) external.release = meta.release;
  if (meta.dist) external.dist = meta.dist;
  const internal: Record<string, string> = {};
  if (meta.stage) internal.stage = meta.stage;
  if (meta.job) internal.job = meta.job;
  const env = input.env ?? meta.env;
  return {
    _type: STATEMENT_TYPE,
    subject: entry.digests.map((d) => ({ name: d.label, digest: { [digestKey(d.form, d.label)]: d.sha256 } })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: QBUILD_BUILD_TYPE,
        externalParameters: external,
        ...(Object.keys(internal).length ? { internalParameters: internal } : {}),
        ...(meta.commit ? { resolvedDependencies: [{ name: 'source', digest: { gitCommit: meta.commit } }] } : {}),
      },
      runDetails: {
        builder: { id: builderId(input.buildVm, env) },
        metadata: {
          invocationId: meta.job && meta.stage ? `${meta.job}/${meta.stage}` : entry.path,
          startedOn: entry.start,
          finishedOn: entry.end,
        },
        byproducts: [
          { name: entry.path, digest: { sha256: entry.logSha256 }, mediaType: 'text/plain', annotations: { leafIndex: input.leafIndex } },
          { name: 'checkpoint', content: Buffer.from(input.checkpoint, 'utf8').toString('base64'), mediaType: 'text/x.tlog.checkpoint' },
        ],
      },
    },
  };
}

/**
 * The provenance file(s) to commit with a log: one DSSE envelope `<log path>.intoto.json`
 * when the log named anything to sign, none otherwise (nothing was built for signing).
 */
export function provenanceFiles(input: ProvenanceInput, signer: NoteSigner): { path: string; bytes: Buffer }[] {
  if (input.entry.digests.length === 0) return [];
  const env = signEnvelope(IN_TOTO_PAYLOAD_TYPE, encodeStatement(provenanceStatement(input)), dsseSignerOf(signer));
  return [{ path: `${input.entry.path}${PROVENANCE_SUFFIX}`, bytes: Buffer.from(`${JSON.stringify(env, null, 2)}\n`, 'utf8') }];
}
