import type { LedgerEntry } from '../../protocol/tlog/entry.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/** Check "log file": the log the entry names exists in the repository and its SHA-256 is the entry's `log-sha256`. */
export function checkLogFile(repo: LogsRepo, entry: LedgerEntry, c: Checks): void {
  const sha = within('log file', () => repo.sha256(entry.path));
  if (!sha) broke('log file', `${entry.path} is not in the logs repository`);
  if (sha !== entry.logSha256) broke('log file', `${entry.path} has sha256 ${sha}, the ledger entry says ${entry.logSha256}: the log was changed`);
  c.ok('log file', `${entry.path} sha256 ${sha} matches its ledger entry`);
}
