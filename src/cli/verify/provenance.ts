import type { NoteVerifier } from '../../protocol/note/note.js';
import { IN_TOTO_PAYLOAD_TYPE, openEnvelope, parseEnvelope } from '../../protocol/provenance/dsse.js';
import { digestKey, parseStatement } from '../../protocol/provenance/statement.js';
import type { LedgerDigest, LedgerEntry } from '../../protocol/tlog/entry.js';
import { dsseVerifierOf, PROVENANCE_SUFFIX } from '../../roles/logs/ledger/provenance.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/** A provenance envelope names at most one entry's digests (64 KiB) and a checkpoint: a bigger file is refused unread. */
const MAX_PROVENANCE_FILE = 16 << 20;

/**
 * Check "provenance": `<log>.intoto.json` beside the log is a DSSE envelope the logs VM's key
 * signed, holding an in-toto Statement v1 with an SLSA provenance v1 predicate whose subjects
 * are exactly the entry's digests and whose byproducts name the log with the entry's sha256;
 * when `digest` is given, its subject is reported.
 */
export function checkProvenance(repo: LogsRepo, entry: LedgerEntry, logKey: NoteVerifier, c: Checks, digest?: LedgerDigest): void {
  const path = `${entry.path}${PROVENANCE_SUFFIX}`;
  const bytes = within('provenance', () => repo.read(path, MAX_PROVENANCE_FILE));
  if (!bytes) broke('provenance', `no ${path} in the logs repository`);
  const { payload } = within('provenance', () => openEnvelope(parseEnvelope(bytes), IN_TOTO_PAYLOAD_TYPE, [dsseVerifierOf(logKey)]));
  const st = within('provenance', () => parseStatement(payload));
  const want = entry.digests.map((d) => `${d.label} ${digestKey(d.form, d.label)}:${d.sha256}`).sort();
  const got = st.subject.flatMap((s) => Object.entries(s.digest).map(([k, v]) => `${s.name} ${k}:${v}`)).sort();
  if (want.join('\n') !== got.join('\n')) broke('provenance', `${path}: its subjects are not the ledger entry's digests`);
  const log = st.predicate.runDetails.byproducts.find((b) => b.name === entry.path);
  if (log?.digest?.sha256 !== entry.logSha256) broke('provenance', `${path}: its byproducts do not name ${entry.path} with the entry's sha256`);
  const p = st.predicate.buildDefinition.externalParameters;
  const what = [p.component, p.tag, p.commit?.slice(0, 12), p.release, p.dist].filter(Boolean).join(' ');
  c.ok('provenance', `${path} signed by ${logKey.name}: ${digest ? `${digest.label} ` : ''}built by ${st.predicate.runDetails.builder.id} from ${what}`);
}
