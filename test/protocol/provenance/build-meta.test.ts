import { describe, expect, it } from 'vitest';
import { formatBuildMeta, readBuildMeta } from '../../../src/protocol/provenance/build-meta.js';

const T = '2026-01-02 03:04:05.000006 +0000';
const stored = (vm: string, lines: string[]) => Buffer.from(lines.map((l) => (l.startsWith('>') ? `${T} ${l}\n` : `${T} ${vm}: ${l}\n`)).join(''));

describe('qbuild-meta lines', () => {
  it('reads the block after the stage header, first value wins', () => {
    const meta = formatBuildMeta({ component: 'core-qrexec', tag: 'v4.2.1', commit: 'a'.repeat(40), dist: 'host-fc41' }).trimEnd().split('\n');
    const log = stored('build-x', ['> starting log', 'qbuild stage build-host-fc41: core-qrexec 4.2.1, job 7 on build-x', ...meta, 'qbuild-meta component=other']);
    expect(readBuildMeta(log, 'build-x')).toEqual({ component: 'core-qrexec', tag: 'v4.2.1', commit: 'a'.repeat(40), dist: 'host-fc41' });
  });

  it('ignores meta lines a recipe prints later, lines of other VMs, and pieces of cut lines', () => {
    const later = stored('b', ['qbuild stage x', 'building...', 'qbuild-meta tag=v9']);
    expect(readBuildMeta(later, 'b')).toEqual({});
    const other = stored('b', ['qbuild stage x']).toString() + `${T} evil: qbuild-meta tag=v9\n`;
    expect(readBuildMeta(Buffer.from(other), 'b')).toEqual({});
    const cut = stored('b', ['qbuild stage x', 'qbuild-meta tag=v1', '> cut: the line above goes on in the next line', 'qbuild-meta commit=abc']);
    expect(readBuildMeta(cut, 'b')).toEqual({});
  });

  it('writes no line for a value with a space or an unknown key', () => {
    expect(formatBuildMeta({ component: 'a b', tag: 'v1' })).toBe('qbuild-meta tag=v1\n');
    expect(readBuildMeta(stored('b', ['h', 'qbuild-meta colour=red']), 'b')).toEqual({});
  });
});
