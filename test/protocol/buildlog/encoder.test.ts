import { describe, expect, it } from 'vitest';
import { LineEncoder } from '../../../src/protocol/buildlog/encoder.js';
import { CUT_CAP, CUT_LONG, END_MARKER, TIME_LENGTH, formatLogTime, logFileName, subdirFromArgument } from '../../../src/protocol/buildlog/format.js';
import { parseManifestLine } from '../../../src/protocol/buildlog/manifest.js';
import { xorshift32 } from '../../helpers/random.js';

const T = Date.UTC(2026, 10, 26, 1, 2, 3) * 1000 + 456789;

function encode(chunks: (string | Buffer)[], opts: Partial<{ maxLineBytes: number; maxLogBytes: number }> = {}): { text: string; enc: LineEncoder } {
  const enc = new LineEncoder({ vm: 'build-x', maxLineBytes: 64, maxLogBytes: 1 << 30, ...opts });
  const out: Buffer[] = [];
  for (const c of chunks) {
    enc.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'), T);
    out.push(Buffer.from(enc.take()));
  }
  enc.finish(T);
  out.push(Buffer.from(enc.take()));
  return { text: Buffer.concat(out).toString('latin1'), enc };
}

/** The stored lines without their timestamps. */
const bodies = (text: string): string[] => text.split('\n').slice(0, -1).map((l) => l.slice(TIME_LENGTH));

describe('build log format', () => {
  it('formats times and file names in UTC with microseconds', () => {
    expect(formatLogTime(T)).toBe('2026-11-26 01:02:03.456789');
    expect(logFileName(T)).toBe('log_2026-11-26_01-02-03');
    expect(logFileName(T, 2)).toBe('log_2026-11-26_01-02-03.2');
  });

  it('maps the sub-directory argument like upstream', () => {
    expect(subdirFromArgument(undefined)).toBe('');
    expect(subdirFromArgument('..')).toBe('__');
    expect(subdirFromArgument('fc41.x86_64-rpm')).toBe('fc41_x86_64-rpm');
  });

  it('parses only exact manifest lines', () => {
    const h = 'ab'.repeat(32);
    expect(parseManifestLine(`qbuild-sign sha256:${h} a.rpm`)).toEqual({ form: 'binary', sha256: h, label: 'a.rpm' });
    expect(parseManifestLine(`qbuild-sign sha256:${h.toUpperCase()} a.rpm`)).toBeUndefined();
    expect(parseManifestLine(`qbuild-sign sha256:${h} a b`)).toBeUndefined();
    expect(parseManifestLine(` qbuild-sign sha256:${h} a`)).toBeUndefined();
  });
});

describe('LineEncoder', () => {
  it('stores lines split across chunks, and a last line without newline', () => {
    const { text, enc } = encode(['hel', 'lo\nwor', 'ld\n\nlast']);
    expect(bodies(text)).toEqual([' +0000 build-x: hello', ' +0000 build-x: world', ' +0000 build-x: ', ' +0000 build-x: last']);
    expect(enc.lines).toBe(4);
    expect(enc.endMarkerSeen).toBe(false);
  });

  it('sanitises every byte outside 0x20-0x7e', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((b) => b !== 10));
    const { text } = encode([all, '\n'], { maxLineBytes: 1000 });
    const body = bodies(text)[0]!.slice(' +0000 build-x: '.length);
    expect(body).toHaveLength(255);
    expect(body).toMatch(/^[\x20-\x7e]+$/);
    expect(body.slice(0x1f, 0x7e)).toBe(Buffer.from(Array.from({ length: 0x5f }, (_, i) => i + 0x20)).toString('latin1'));
    expect(body.replace(/[^.]/g, '').length).toBe(255 - 0x5f + 1);
  });

  it('splits overlong lines into pieces, each followed by a cut marker, that concatenate back', () => {
    const line = 'x'.repeat(64 * 3 + 10);
    const { text, enc } = encode([line.slice(0, 100), line.slice(100), '\n', 'y'.repeat(64), '\n', 'z'.repeat(128)]);
    const cut = ` +0000 > ${CUT_LONG}`;
    const b = bodies(text).map((l) => (l === cut ? 'CUT' : l.slice(' +0000 build-x: '.length)));
    expect(b).toEqual(['x'.repeat(64), 'CUT', 'x'.repeat(64), 'CUT', 'x'.repeat(64), 'CUT', 'x'.repeat(10), 'y'.repeat(64),
      'z'.repeat(64), 'CUT', 'z'.repeat(64)]);
    expect(enc.lines).toBe(3);
  });

  it('stores a partial line at once, and appends to it as the rest arrives', () => {
    const enc = new LineEncoder({ vm: 'build-x', maxLineBytes: 64, maxLogBytes: 1 << 30 });
    enc.push(Buffer.from('no newline yet'), T);
    const first = Buffer.from(enc.take()).toString('latin1');
    expect(first).toBe(`${formatLogTime(T)} +0000 build-x: no newline yet`);
    enc.push(Buffer.from(', now\x01 one\nnext'), T + 5);
    const second = Buffer.from(enc.take()).toString('latin1');
    expect(second).toBe(`, now. one\n${formatLogTime(T + 5)} +0000 build-x: next`);
    enc.finish(T + 9);
    expect(Buffer.from(enc.take()).toString('latin1')).toBe('\n');
    expect(enc.lines).toBe(2);
  });

  it('a partial line the size cap cuts is marked cut, then capped', () => {
    const { text, enc } = encode(['line one\n', 'a'.repeat(40), 'b'.repeat(40), '\nmore\n'], { maxLogBytes: 140 });
    const b = bodies(text);
    expect(b[0]).toBe(' +0000 build-x: line one');
    expect(b[1]).toBe(` +0000 build-x: ${'a'.repeat(40)}`);
    expect(b[2]).toBe(` +0000 > ${CUT_CAP}`);
    expect(b[3]).toMatch(/^ \+0000 > size cap of 140 bytes reached/);
    expect(b.at(-1)).toBe(' +0000 > size cap: 46 bytes in 2 lines received but not stored');
    expect(enc.lines).toBe(3);
  });

  it('an end marker past the size cap does not count: the log is capped and incomplete', () => {
    const { enc } = encode(['x'.repeat(60), '\n', 'y'.repeat(60), '\n', `${END_MARKER}\n`], { maxLogBytes: 150 });
    expect(enc.capped).toBe(true);
    expect(enc.endMarkerSeen).toBe(false);
    const h = '33'.repeat(32);
    const late = encode(['z'.repeat(60), '\n', `qbuild-sign sha256:${h} late\n`], { maxLogBytes: 110, maxLineBytes: 200 });
    expect(late.enc.capped).toBe(true);
    expect(late.enc.manifest.entries).toEqual([]);
  });

  it('judges manifest lines on their stored (sanitised) bytes', () => {
    const h = '44'.repeat(32);
    const { enc } = encode([`qbuild-sign sha256:${h} lab\x01el\n`], { maxLineBytes: 200 });
    expect(enc.manifest.entries).toEqual([{ form: 'binary', sha256: h, label: 'lab.el' }]);
  });

  it('recognises the end marker only as the last complete line', () => {
    expect(encode([`a\n${END_MARKER}\n`]).enc.endMarkerSeen).toBe(true);
    expect(encode([`a\n${END_MARKER}`]).enc.endMarkerSeen).toBe(true);
    expect(encode([`${END_MARKER}\nmore\n`]).enc.endMarkerSeen).toBe(false);
    expect(encode([`x${END_MARKER}\n`]).enc.endMarkerSeen).toBe(false);
  });

  it('collects manifest entries once each, in order', () => {
    const h1 = '11'.repeat(32);
    const h2 = '22'.repeat(32);
    const { enc } = encode([`qbuild-sign sha256:${h1} a.rpm\nqbuild-sign sha256:${h2} b\nqbuild-sign sha256:${h1} a.rpm\nqbuild-sign sha256:zz b\n`], { maxLineBytes: 200 });
    expect(enc.manifest.entries).toEqual([{ form: 'binary', sha256: h1, label: 'a.rpm' }, { form: 'binary', sha256: h2, label: 'b' }]);
  });

  it('grants only what fits in one ledger entry, and says so', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `qbuild-sign sha256:${i.toString(16).padStart(64, '0')} f${i}`).join('\n');
    const { text, enc } = encode([`${lines}\n`], { maxLineBytes: 200 });
    const kept = enc.manifest.entries.length;
    expect(kept).toBeGreaterThan(700);
    expect(kept + enc.manifest.dropped).toBe(2000);
    expect(enc.manifest.entries.at(-1)!.label).toBe(`f${kept - 1}`);
    expect(bodies(text).at(-1)).toBe(` +0000 > manifest: ${2000 - kept} qbuild-sign entries past the limit of 10000 entries or ${63 * 1024} ledger bytes grant nothing`);
  });

  it('stops storing at the size cap, keeps counting, and says so', () => {
    const { text, enc } = encode(['line one\n', 'line two\n', 'line three\n', 'tail'], { maxLogBytes: 100 });
    const b = bodies(text);
    expect(b[0]).toBe(' +0000 build-x: line one');
    expect(b[1]).toMatch(/^ \+0000 > size cap of 100 bytes reached/);
    // 'line two\n' + 'line three\n' + 'tail': the bytes received, not one more.
    expect(b.at(-1)).toBe(' +0000 > size cap: 24 bytes in 3 lines received but not stored');
    expect(enc.capped).toBe(true);
  });
});

describe('LineEncoder fast path', () => {
  /** The format, written the obvious way: split on \n, sanitise, cut at max bytes. */
  const CUT = Symbol('cut');
  function reference(input: Buffer, max: number): string {
    const out: (string | typeof CUT)[] = [];
    const text = input.toString('latin1');
    const parts = text.split('\n');
    if (parts.at(-1) === '') parts.pop();
    for (const line of parts) {
      const clean = line.replace(/[^\x20-\x7e]/g, '.');
      if (clean.length === 0) out.push('');
      for (let i = 0; i < clean.length; i += max) {
        if (i > 0) out.push(CUT);
        out.push(clean.slice(i, i + max));
      }
    }
    return out.map((l) => (l === CUT ? ` +0000 > ${CUT_LONG}` : ` +0000 build-x: ${l}`)).join('\n') + (out.length ? '\n' : '');
  }

  const rnd = xorshift32(42);

  it('stores exactly what the per-line reference stores, for random streams and chunkings', () => {
    for (let round = 0; round < 200; round++) {
      const max = 16 + rnd(100);
      const lines: Buffer[] = [];
      const nLines = rnd(60);
      for (let i = 0; i < nLines; i++) {
        const kind = rnd(10);
        const len = kind === 0 ? max + rnd(3 * max) : rnd(max + 1);
        const b = Buffer.alloc(len);
        for (let j = 0; j < len; j++) b[j] = kind === 1 ? rnd(256) : 0x20 + rnd(95);
        for (let j = 0; j < len; j++) if (b[j] === 10) b[j] = 0x41;
        if (kind === 2) b.write('qbuild-', 0, 'latin1');
        lines.push(b);
      }
      let input = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
      if (rnd(3) === 0) input = input.subarray(0, Math.max(0, input.length - 1 - rnd(5)));
      const enc = new LineEncoder({ vm: 'build-x', maxLineBytes: max, maxLogBytes: 1 << 30 });
      const out: Buffer[] = [];
      for (let p = 0; p < input.length;) {
        const n = 1 + rnd(300);
        // Unaligned views exercise the scanner's byte-wise head and tail.
        const backing = Buffer.alloc(n + 3);
        const off = rnd(4);
        const chunk = input.subarray(p, p + n);
        chunk.copy(backing, off);
        enc.push(backing.subarray(off, off + chunk.length), T);
        out.push(Buffer.from(enc.take()));
        p += n;
      }
      enc.finish(T);
      out.push(Buffer.from(enc.take()));
      const got = Buffer.concat(out).toString('latin1').split('\n').map((l) => l.slice(TIME_LENGTH)).join('\n');
      expect(got, `round ${round}`).toBe(reference(input, max));
      const text = input.toString('latin1');
      expect(enc.lines, `round ${round}`).toBe(text.split('\n').length - (text.endsWith('\n') || text === '' ? 1 : 0));
    }
  });
});
