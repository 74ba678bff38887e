import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from '../../../../src/protocol/note/note.js';
import { IN_TOTO_PAYLOAD_TYPE, openEnvelope, parseEnvelope } from '../../../../src/protocol/provenance/dsse.js';
import { formatBuildMeta } from '../../../../src/protocol/provenance/build-meta.js';
import { parseStatement } from '../../../../src/protocol/provenance/statement.js';
import { dsseVerifierOf, provenanceFiles, type ProvenanceEntry } from '../../../../src/roles/logs/ledger/provenance.js';

const T = '2026-01-02 03:04:05.000006 +0000';
const keys = generateNoteKey('qbuild-logs/logs');
const signer = parseSignerKey(keys.signerKey);
const verifier = parseVerifierKey(keys.verifierKey);

const entry: ProvenanceEntry = {
  vm: 'build-fc', path: 'build-fc/core-qrexec/log_2026-01-02_03-04-05', logSha256: 'c'.repeat(64),
  digests: [
    { form: 'binary', sha256: 'a'.repeat(64), label: 'qubes-core-qrexec-4.2.1-1.fc41.x86_64.rpm' },
    { form: 'binary', sha256: 'b'.repeat(64), label: 'repomd.xml' },
    { form: 'clearsign', sha256: 'd'.repeat(64), label: 'core-qrexec_4.2.1-1.dsc' },
  ],
  start: '2026-01-02T03:04:05.000Z', end: '2026-01-02T03:05:00.000Z',
};
const log = Buffer.from([
  `${T} > starting log`,
  `${T} build-fc: qbuild stage build-host-fc41: core-qrexec 4.2.1, job j1 (attempt 1) on build-fc`,
  ...formatBuildMeta({ component: 'core-qrexec', tag: 'v4.2.1', commit: 'e'.repeat(40), release: 'r4.2', dist: 'host-fc41', env: 'fedora', job: 'j1', stage: 'build-host-fc41' })
    .trimEnd().split('\n').map((l) => `${T} build-fc: ${l}`),
  `${T} build-fc: building`,
].join('\n') + '\n');

describe('provenance beside the log', () => {
  it('is one DSSE envelope <log>.intoto.json, signed by the logs key, with an SLSA v1 statement', () => {
    const files = provenanceFiles({ entry, leafIndex: 5, checkpoint: 'origin\n6\nroot=\n\n— sig\n', buildVm: 'build-fc', env: 'fedora', log }, signer);
    expect(files.map((f) => f.path)).toEqual([`${entry.path}.intoto.json`]);
    const env = parseEnvelope(files[0]!.bytes);
    const { payload } = openEnvelope(env, IN_TOTO_PAYLOAD_TYPE, [dsseVerifierOf(verifier)]);
    const st = parseStatement(payload);
    expect(st.subject).toEqual([
      { name: 'qubes-core-qrexec-4.2.1-1.fc41.x86_64.rpm', digest: { qbuildRpmHeaderSha256: 'a'.repeat(64) } },
      { name: 'repomd.xml', digest: { sha256: 'b'.repeat(64) } },
      { name: 'core-qrexec_4.2.1-1.dsc', digest: { qbuildClearsignSha256: 'd'.repeat(64) } },
    ]);
    expect(st.predicate.buildDefinition.externalParameters).toEqual({ component: 'core-qrexec', tag: 'v4.2.1', commit: 'e'.repeat(40), release: 'r4.2', dist: 'host-fc41' });
    expect(st.predicate.runDetails.builder.id).toBe('https://qbuild.invalid/builders/fedora/build-fc');
    expect(st.predicate.runDetails.metadata).toEqual({ invocationId: 'j1/build-host-fc41', startedOn: entry.start, finishedOn: entry.end });
    expect(st.predicate.runDetails.byproducts[0]).toEqual({ name: entry.path, digest: { sha256: entry.logSha256 }, mediaType: 'text/plain', annotations: { leafIndex: 5 } });
  });

  it('without the log bytes the component is the log sub-directory; a log with no digests has no provenance', () => {
    const files = provenanceFiles({ entry, leafIndex: 0, checkpoint: 'c\n', buildVm: 'build-fc' }, signer);
    const st = parseStatement(openEnvelope(parseEnvelope(files[0]!.bytes), IN_TOTO_PAYLOAD_TYPE, [dsseVerifierOf(verifier)]).payload);
    expect(st.predicate.buildDefinition.externalParameters).toEqual({ component: 'core-qrexec' });
    expect(provenanceFiles({ entry: { ...entry, digests: [] }, leafIndex: 0, checkpoint: 'c\n', buildVm: 'build-fc' }, signer)).toEqual([]);
  });
});
