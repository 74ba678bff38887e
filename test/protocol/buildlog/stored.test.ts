import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../../../src/protocol/buildlog/encoder.js';
import { CUT_LONG, CUT_STOPPED, END_MARKER, formatLogTime } from '../../../src/protocol/buildlog/format.js';
import { manifestFromText } from '../../../src/protocol/buildlog/stored.js';
import { xorshift32 } from '../../helpers/random.js';

const T = Date.UTC(2026, 10, 26, 1, 2, 3) * 1000;
const TOKENS = ['sha256', 'text-sha256', 'clearsign-sha256', 'sha512', 'SHA256'];

/** A random stream made to hit every way a line can look like a manifest line and not be one. */
function randomStream(rnd: (n: number) => number, max: number): Buffer {
  const hex = (): string => Array.from({ length: 64 }, () => '0123456789abcdef'[rnd(16)]).join('');
  const manifest = (): string => `qbuild-sign ${TOKENS[rnd(TOKENS.length)]}:${hex()} ${['a.rpm', 'Release', 'x'.repeat(1 + rnd(300)), 'la\x01b'][rnd(4)]}`;
  const parts: string[] = [];
  for (let i = rnd(40); i > 0; i--) {
    switch (rnd(8)) {
      case 0: case 1: parts.push(manifest()); break;
      // A long line whose next piece starts exactly with a manifest line (finding F).
      case 2: parts.push('p'.repeat(max * (1 + rnd(2))) + manifest()); break;
      case 3: parts.push(END_MARKER); break;
      case 4: parts.push(Array.from({ length: rnd(3 * max) }, () => String.fromCharCode(rnd(256))).join('').replace(/\n/g, '')); break;
      case 5: parts.push(` ${manifest()}`); break;
      default: parts.push(`ordinary line ${i}`);
    }
  }
  let text = parts.join('\n');
  if (rnd(2)) text += '\n';
  return Buffer.from(text, 'latin1');
}

describe('the manifest read back from a stored log', () => {
  it('equals the live encoder\'s at every point of the stream, finished or not, for random inputs (seeded)', () => {
    const rnd = xorshift32(9);
    let granted = 0;
    let cutGrants = 0;
    for (let round = 0; round < 300; round++) {
      const max = 80 + rnd(300);
      const input = randomStream(rnd, max);
      const enc = new LineEncoder({
        vm: 'build-x', maxLineBytes: max, maxLogBytes: rnd(4) === 0 ? 4096 + rnd(4096) : 1 << 30, wasm: rnd(2) === 0,
      });
      let stored = '';
      for (let p = 0; p < input.length;) {
        const n = 1 + rnd(400);
        enc.push(input.subarray(p, p + n), T + p);
        stored += Buffer.from(enc.take()).toString('latin1');
        p += n;
        // As the daemon would read it after a SIGKILL right here.
        expect(manifestFromText(stored, 'build-x'), `round ${round} at ${p}`).toEqual(enc.manifest.entries);
      }
      enc.finish(T + input.length);
      stored += Buffer.from(enc.take()).toString('latin1');
      expect(manifestFromText(stored, 'build-x'), `round ${round}`).toEqual(enc.manifest.entries);
      granted += enc.manifest.entries.length;
      // The trap of finding F is in the inputs: manifest-shaped pieces after a cut.
      cutGrants += (stored.match(new RegExp(`> ${CUT_LONG}\\n[^\\n]* build-x: qbuild-sign sha256:`, 'g')) ?? []).length;
    }
    expect(granted).toBeGreaterThan(100);
    expect(cutGrants).toBeGreaterThan(20);
  });

  it('does not take the second piece of a cut line for a manifest line (finding F)', () => {
    const h = 'ab'.repeat(32);
    const t = formatLogTime(T);
    const text = `${t} +0000 > starting log\n${t} +0000 build-x: ${'p'.repeat(80)}\n${t} +0000 > ${CUT_LONG}\n` +
      `${t} +0000 build-x: qbuild-sign sha256:${h} evil\n${t} +0000 build-x: qbuild-sign sha256:${h} good\n` +
      `${t} +0000 build-x: qbuild-sign sha256:${h} torn\n${t} +0000 > ${CUT_STOPPED}\n`;
    expect(manifestFromText(text, 'build-x')).toEqual([{ form: 'binary', sha256: h, label: 'good' }]);
    expect(manifestFromText(text, 'build-y')).toEqual([]);
  });
});
