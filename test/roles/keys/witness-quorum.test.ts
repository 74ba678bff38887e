import { describe, expect, it } from 'vitest';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessSignerKey } from '../../../src/protocol/tlog/cosignature.js';
import { emptyRoot } from '../../../src/protocol/tlog/merkle.js';
import { countWitnesses } from '../../../src/roles/keys/witness-quorum.js';

describe('keys VM: the witnesses that cosigned a checkpoint', () => {
  const origin = 'qbuild.test/logs';
  const log = generateNoteKey(origin);
  const signed = signCheckpoint({ origin, size: 3, root: emptyRoot(), extensions: [] }, parseSignerKey(log.signerKey));
  const body = signed.slice(0, signed.indexOf('\n\n') + 1);
  const w1 = generateWitnessKey('witness.test/w1');
  const w1b = generateWitnessKey('witness.test/w1'); // the same witness, a rotated key
  const w2 = generateWitnessKey('witness.test/w2');
  const cosign = (w: { signerKey: string }, t: number) => cosignCheckpoint(body, parseWitnessSignerKey(w.signerKey), t);

  it('counts each witness once, by name: two keys of one witness, or two lines of one key, are one', () => {
    const all = [w1.verifierKey, w1b.verifierKey, w2.verifierKey];
    expect(countWitnesses(signed + cosign(w1, 1) + cosign(w1b, 2), all)).toEqual({ count: 1 });
    expect(countWitnesses(signed + cosign(w1, 1) + cosign(w1, 2) + cosign(w2, 3), all)).toEqual({ count: 2 });
    expect(countWitnesses(signed, all)).toEqual({ count: 0 });
    expect(countWitnesses(signed + cosign(w2, 3), [])).toEqual({ count: 0 });
  });

  it('a line claiming a configured witness that does not verify refuses the note; a bad vkey is named', () => {
    const forged = signed + cosignCheckpoint(body.replace('\n3\n', '\n4\n'), parseWitnessSignerKey(w2.signerKey), 5);
    expect(countWitnesses(forged, [w2.verifierKey]).error).toMatch(/cosignature by witness\.test\/w2 does not verify/);
    expect(countWitnesses(signed, ['nonsense']).error).toMatch(/^keys\.witnesses: /);
  });
});
