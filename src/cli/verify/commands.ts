import { readFileSync } from 'node:fs';
import { QbuildError, oneLine } from '../../errors.js';
import type { NoteVerifier } from '../../protocol/note/note.js';
import type { LedgerDigest } from '../../protocol/tlog/entry.js';
import { checkCheckpoint } from './checkpoint.js';
import { checkCosignatures } from './cosignatures.js';
import { checkDebChain, type DebIndices } from './deb-chain.js';
import { checkEveryLog } from './every-log.js';
import { checkLogCommit } from './git-commit.js';
import { checkHistory } from './history.js';
import { checkInclusion } from './inclusion.js';
import { checkLogFile } from './log-file.js';
import { checkPackageSignature } from './package-signature.js';
import { checkProvenance } from './provenance.js';
import { LogsRepo } from './repo.js';
import { broke, Checks } from './report.js';
import { checkTree } from './tree.js';

/** What every verification starts from: the clone and the logs VM's keys. */
export interface VerifyInputs {
  repo: LogsRepo;
  logKey: NoteVerifier;
  /** The logs VM's OpenPGP key (armored), for the git commit signatures. */
  gitKey?: string;
  /** Witness vkeys that must have cosigned the checkpoint. */
  witnessKeys?: string[];
  out: (line: string) => void;
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new QbuildError('usage', `${what} ${path}: ${oneLine(e)}`);
  }
}

/** The verified ledger: checkpoint, tree from the tiles, entries. */
function ledger(v: VerifyInputs, c: Checks) {
  const { checkpoint, note } = checkCheckpoint(v.repo, v.logKey, c);
  checkCosignatures(note, v.witnessKeys ?? [], c);
  return { checkpoint, ...checkTree(v.repo, checkpoint, c) };
}

/** Where a package's signature is: beside it (`--signature`), in it, or in its Debian suite's indices. */
export interface PackageSources {
  signature?: string;
  /** A .deb's suite: its InRelease and the Packages index that InRelease lists. */
  release?: string;
  packages?: string;
}

/**
 * `qbuild verify package FILE`: the package's signature (for a .deb: its suite's InRelease,
 * Packages index and entry), the ledger entry naming what it signs, that entry's inclusion in
 * the signed checkpoint, the log file, the signed commit that published it, and the
 * provenance beside it.
 */
export function verifyPackage(v: VerifyInputs, file: string, sources: PackageSources, signingKey: string): number {
  const c = new Checks(v.out);
  const bytes = readInput(file, 'package');
  if ((sources.release === undefined) !== (sources.packages === undefined)) {
    throw new QbuildError('usage', '--release and --packages go together: the suite\'s InRelease and the Packages index it lists');
  }
  if (sources.release !== undefined && sources.signature !== undefined) throw new QbuildError('usage', '--signature or --release/--packages, not both');
  const indices: DebIndices | undefined = sources.release === undefined ? undefined : {
    release: { file: sources.release, bytes: readInput(sources.release, '--release') },
    packages: { file: sources.packages!, bytes: readInput(sources.packages!, '--packages') },
  };
  const sig = sources.signature === undefined ? undefined : readInput(sources.signature, '--signature');
  const digests = indices ? checkDebChain(file, bytes, indices, signingKey, c) : checkPackageSignature(file, bytes, sig, signingKey, c);
  const l = ledger(v, c);
  let found: { index: number; digest: LedgerDigest } | undefined;
  for (const [index, e] of l.entries.entries()) {
    const d = e.digests.find((x) => digests.some((p) => p.form === x.form && p.sha256 === x.sha256));
    if (d) { found = { index, digest: d }; break; }
  }
  if (!found) broke('ledger entry', `no ledger entry names ${digests.map((d) => `${d.form} sha256 ${d.sha256}`).join(' or ')}`);
  const entry = l.entries[found.index]!;
  c.ok('ledger entry', `leaf ${found.index}: ${entry.path} names ${found.digest.label} (${found.digest.form} sha256 ${found.digest.sha256})`);
  checkInclusion(l.tree, l.checkpoint, found.index, entry, c);
  checkLogFile(v.repo, entry, c);
  checkLogCommit(v.repo, entry, v.gitKey, c);
  checkProvenance(v.repo, entry, v.logKey, c, found.digest);
  v.out(`verified: ${file} (${c.passed.length} checks)`);
  return 0;
}

/**
 * `qbuild verify ledger`: the tree from the tiles against the signed checkpoint, every
 * checkpoint in the history consistent with it, and every entry against its log file.
 */
export function verifyLedger(v: VerifyInputs): number {
  const c = new Checks(v.out);
  const l = ledger(v, c);
  checkHistory(v.repo, l.tree, l.checkpoint, v.logKey, c);
  checkEveryLog(v.repo, l.entries, c);
  v.out(`verified: the ledger of ${l.checkpoint.origin} at size ${l.checkpoint.size} (${c.passed.length} checks)`);
  return 0;
}

/** `qbuild verify log PATH`: one log's entry, inclusion, file, commit and provenance. */
export function verifyLog(v: VerifyInputs, path: string): number {
  const c = new Checks(v.out);
  const l = ledger(v, c);
  const index = l.entries.findIndex((e) => e.path === path);
  if (index < 0) broke('ledger entry', `no ledger entry names the log ${path}`);
  const entry = l.entries[index]!;
  c.ok('ledger entry', `leaf ${index}: ${path}, ${entry.digests.length} digest${entry.digests.length === 1 ? '' : 's'}`);
  checkInclusion(l.tree, l.checkpoint, index, entry, c);
  checkLogFile(v.repo, entry, c);
  checkLogCommit(v.repo, entry, v.gitKey, c);
  if (entry.digests.length > 0) checkProvenance(v.repo, entry, v.logKey, c);
  else c.skipped('provenance', 'the log named nothing to sign');
  v.out(`verified: ${path} (${c.passed.length} checks)`);
  return 0;
}

export { LogsRepo };
