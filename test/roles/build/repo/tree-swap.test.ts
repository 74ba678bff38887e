import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STALE_STAGING_MS, currentTarget, discard, replaceFile, stageTree, swapIn, swapUnit } from '../../../../src/roles/build/repo/tree-swap.js';
import { tempDirs } from '../../../helpers/tmp.js';

describe('tree-swap: a published tree is replaced by one rename of a symlink', () => {
  const tmp = tempDirs('qb-treeswap-');

  function publishOnce(link: string, files: Record<string, string>): string {
    const staged = stageTree(swapUnit(link));
    for (const [rel, text] of Object.entries(files)) replaceFile(join(staged.dir, rel), text);
    return swapIn(staged);
  }

  it('first publication: nothing before the swap, a relative link into .versions after it', () => {
    const link = join(tmp(), 'current-testing', 'vm', 'fc42');
    const staged = stageTree(swapUnit(link));
    replaceFile(join(staged.dir, 'rpm', 'a.rpm'), 'A');
    expect(existsSync(link)).toBe(false);
    expect(staged.base).toBeUndefined();
    const live = swapIn(staged);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`.versions/fc42/${staged.id}`);
    expect(realpathSync(link)).toBe(live);
    expect(readFileSync(join(link, 'rpm', 'a.rpm'), 'utf8')).toBe('A');
  });

  it('a staged copy shares the live files by hard link; rewriting one in the stage never reaches the live tree', () => {
    const link = join(tmp(), 'set');
    const first = publishOnce(link, { 'pool/a.deb': 'A', 'dists/s/Release': 'old' });
    const staged = stageTree(swapUnit(link), (rel) => rel === 'dists/s/Release');
    expect(statSync(join(staged.dir, 'pool/a.deb')).ino).toBe(statSync(join(first, 'pool/a.deb')).ino);
    expect(existsSync(join(staged.dir, 'dists/s/Release'))).toBe(false); // skipped: regenerated
    replaceFile(join(staged.dir, 'pool/a.deb'), 'changed');
    replaceFile(join(staged.dir, 'dists/s/Release'), 'new');
    expect(readFileSync(join(link, 'pool/a.deb'), 'utf8')).toBe('A');
    expect(readFileSync(join(link, 'dists/s/Release'), 'utf8')).toBe('old');
    swapIn(staged);
    expect(readFileSync(join(link, 'pool/a.deb'), 'utf8')).toBe('changed');
    expect(readFileSync(join(first, 'pool/a.deb'), 'utf8')).toBe('A'); // the previous tree is kept whole
  });

  it('discard leaves the live tree as it was', () => {
    const link = join(tmp(), 'set');
    publishOnce(link, { f: '1' });
    const target = readlinkSync(link);
    const staged = stageTree(swapUnit(link));
    replaceFile(join(staged.dir, 'f'), '2');
    discard(staged);
    expect(readlinkSync(link)).toBe(target);
    expect(readFileSync(join(link, 'f'), 'utf8')).toBe('1');
    expect(existsSync(staged.dir)).toBe(false);
  });

  it('keeps the live tree and the previous one; removes older trees and stale stages, not a young stage', () => {
    const link = join(tmp(), 'set');
    const unit = swapUnit(link);
    const trees = [1, 2, 3].map((n) => publishOnce(link, { f: String(n) }));
    const young = stageTree(unit); // another stage still waiting for its ticket
    const stale = join(unit.versions, '20000101T000000Z-deadbeef.staging');
    mkdirSync(stale);
    const old = (Date.now() - STALE_STAGING_MS - 60_000) / 1000;
    utimesSync(stale, old, old);
    const next = stageTree(unit);
    const names = readdirSync(unit.versions).sort();
    expect(existsSync(trees[0]!)).toBe(false);
    expect(existsSync(trees[1]!)).toBe(true); // previous (an upload may still read it)
    expect(existsSync(trees[2]!)).toBe(true); // live
    expect(existsSync(young.dir)).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(names).toContain(`${next.id}.staging`);
  });

  it('refuses a swap when the link moved since staging began, and a published path that is not our link', () => {
    const link = join(tmp(), 'set');
    publishOnce(link, { f: '1' });
    const a = stageTree(swapUnit(link));
    const b = stageTree(swapUnit(link));
    swapIn(a);
    expect(() => swapIn(b)).toThrow(/changed while this tree was staged: not replaced/);
    expect(realpathSync(link)).toBe(join(swapUnit(link).versions, a.id));

    const dir = join(tmp(), 'plain');
    mkdirSync(dir);
    expect(() => stageTree(swapUnit(dir))).toThrow(/is not a symlink to a published tree/);
    const elsewhere = join(tmp(), 'elsewhere');
    symlinkSync('/etc', elsewhere);
    expect(() => currentTarget(swapUnit(elsewhere))).toThrow(/points at \/etc, not into \.versions\/elsewhere/);
  });
});
