import { QbuildError } from '../../errors.js';
import { openCosignatures, parseWitnessVerifierKey, type CosignatureVerifier } from '../../protocol/tlog/cosignature.js';

/**
 * How many of the configured witnesses (keys.witnesses, vkeys of type 0x04) cosigned a
 * checkpoint note. Rules (tlog-cosignature, via openCosignatures): each witness counts once
 * however many lines it has; lines of keys not configured are ignored; a line that claims a
 * configured witness but does not verify refuses the checkpoint (`error`), as does a
 * configured key that is not a witness vkey.
 */
export function countWitnesses(note: string, witnesses: string[]): { count: number; error?: string } {
  if (witnesses.length === 0) return { count: 0 };
  let keys: CosignatureVerifier[];
  try {
    keys = witnesses.map(parseWitnessVerifierKey);
  } catch (e) {
    if (e instanceof QbuildError) return { count: 0, error: `keys.witnesses: ${e.message}` };
    throw e;
  }
  try {
    // A witness is its name: two keys of one witness (a key rotation) count once.
    return { count: new Set(openCosignatures(note, keys).map((c) => c.name)).size };
  } catch (e) {
    if (e instanceof QbuildError) return { count: 0, error: e.message };
    throw e;
  }
}
