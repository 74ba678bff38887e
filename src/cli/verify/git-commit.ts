import type { LedgerEntry } from '../../protocol/tlog/entry.js';
import { gpgvVerify } from './gpgv.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/**
 * Splits a raw commit object into the signed payload and its `gpgsig` signature, as git
 * verify-commit does: the signature is the `gpgsig` header's value (continuation lines
 * without their leading space); the payload is the object with that header removed.
 */
export function splitSignedCommit(raw: Buffer): { payload: Buffer; signature: Buffer } | undefined {
  const text = raw.toString('latin1');
  const end = text.indexOf('\n\n');
  const headers = (end < 0 ? text : text.slice(0, end + 1)).split('\n');
  const kept: string[] = [];
  const sig: string[] = [];
  let inSig = false;
  for (const line of headers) {
    if (inSig && line.startsWith(' ')) { sig.push(line.slice(1)); continue; }
    inSig = false;
    if (line.startsWith('gpgsig ')) { inSig = true; sig.push(line.slice(7)); continue; }
    kept.push(line);
  }
  if (sig.length === 0) return undefined;
  const payload = kept.join('\n') + (end < 0 ? '' : text.slice(end + 1));
  return { payload: Buffer.from(payload, 'latin1'), signature: Buffer.from(`${sig.join('\n')}\n`, 'latin1') };
}

/**
 * Check "git commit": the commit that added the log (`Add <path>`) carries an OpenPGP
 * signature that gpgv verifies with the logs VM's git key (the check `git verify-commit`
 * makes, against that one key), and the log it added is byte for byte the one the ledger
 * entry names. Without a git key the step is reported as not checked.
 */
export function checkLogCommit(repo: LogsRepo, entry: LedgerEntry, gitKey: string | undefined, c: Checks): void {
  const commit = repo.addingCommit(entry.path);
  if (!commit) broke('git commit', `no commit in the history adds ${entry.path}`);
  const sha = within('git commit', () => repo.showSha256(commit, entry.path));
  if (sha !== entry.logSha256) broke('git commit', `commit ${commit.slice(0, 12)} added ${entry.path} with sha256 ${sha ?? 'none'}, not the ledger entry's ${entry.logSha256}`);
  if (!gitKey) {
    c.skipped('git commit', `${commit.slice(0, 12)} adds the log; no --git-key to check its signature`);
    return;
  }
  const parts = splitSignedCommit(repo.git(['cat-file', 'commit', commit]));
  if (!parts) broke('git commit', `commit ${commit.slice(0, 12)} (adds ${entry.path}) is not signed`);
  const v = gpgvVerify(gitKey, parts.signature, parts.payload);
  if (!v.ok) broke('git commit', `commit ${commit.slice(0, 12)} (adds ${entry.path}): ${v.why}`);
  c.ok('git commit', `${commit.slice(0, 12)} adds ${entry.path}, good signature by ${v.fingerprint}`);
}
