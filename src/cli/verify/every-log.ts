import type { LedgerEntry } from '../../protocol/tlog/entry.js';
import type { LogsRepo } from './repo.js';
import { broke, within, type Checks } from './report.js';

/**
 * Check "log files": every entry's log is in the repository with the entry's sha256, and
 * every build log in the repository has an entry (a log without one was never in the ledger
 * or its entry was removed).
 */
export function checkEveryLog(repo: LogsRepo, entries: LedgerEntry[], c: Checks): void {
  const byPath = new Map<string, number>();
  entries.forEach((e, i) => {
    if (byPath.has(e.path)) broke('log files', `entries ${byPath.get(e.path)} and ${i} both name ${e.path}`);
    byPath.set(e.path, i);
    const sha = within('log files', () => repo.sha256(e.path));
    if (!sha) broke('log files', `entry ${i}: ${e.path} is not in the logs repository`);
    if (sha !== e.logSha256) broke('log files', `entry ${i}: ${e.path} has sha256 ${sha}, the entry says ${e.logSha256}: the log was changed`);
  });
  const missing = within('log files', () => repo.logPaths()).filter((p) => !byPath.has(p));
  if (missing.length) broke('log files', `${missing[0]}${missing.length > 1 ? ` (and ${missing.length - 1} more)` : ''} has no ledger entry`);
  c.ok('log files', `${entries.length} logs match their entries; every log in the repository has one`);
}
