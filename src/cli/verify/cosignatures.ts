import { openCosignatures, parseWitnessVerifierKey } from '../../protocol/tlog/cosignature.js';
import { QbuildError, oneLine } from '../../errors.js';
import { broke, within, type Checks } from './report.js';

/**
 * Check "cosignatures": when witness keys are given, every one of them cosigned the
 * checkpoint (C2SP tlog-cosignature; a line by a given witness that does not verify rejects
 * the checkpoint): those witnesses saw this very tree, so it was not shown only to you.
 */
export function checkCosignatures(note: string, witnessKeys: string[], c: Checks): void {
  if (witnessKeys.length === 0) return;
  const keys = witnessKeys.map((k) => {
    try {
      return parseWitnessVerifierKey(k.trim());
    } catch (e) {
      throw new QbuildError('usage', `--witness-key: ${oneLine(e)}`);
    }
  });
  const got = within('cosignatures', () => openCosignatures(note, keys));
  const missing = keys.filter((k) => !got.some((g) => g.name === k.name && g.keyId === k.keyId));
  if (missing.length) broke('cosignatures', `the checkpoint has no cosignature by ${missing.map((k) => k.name).join(', ')}`);
  c.ok('cosignatures', got.map((g) => `${g.name} at ${when(g.time)}`).join(', '));
}

/** A cosignature's time (seconds since the epoch, up to 2^53 − 1): as a date when a date can hold it, else as the number. */
function when(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? `unix time ${seconds}` : d.toISOString();
}
