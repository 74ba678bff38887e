import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNote } from '../../src/protocol/note/note.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessSignerKey } from '../../src/protocol/tlog/cosignature.js';
import { signCheckpoint } from '../../src/protocol/tlog/checkpoint.js';
import { encodeEntry, type LedgerEntry } from '../../src/protocol/tlog/entry.js';
import { leafHash, MerkleTree } from '../../src/protocol/tlog/merkle.js';
import { bundlesFor, tilesFor } from '../../src/protocol/tlog/tiles.js';
import { tempDirs } from '../helpers/tmp.js';
import { cloneLogsRepo, gitIn, logsRepoForTests, verifyClone } from './verify-repo.js';

/**
 * `qbuild verify` on a hostile clone: whatever the clone holds, the auditor's tool reads only
 * regular files inside it, in bounded memory, and fails with one line.
 */
const tmp = tempDirs('qbuild-verify-hostile-');
const r = logsRepoForTests('qbuild-verify-hostile-repo-');
/** A fresh clone of the published repository, as an auditor makes one. */
const clone = (): string => cloneLogsRepo(r, tmp());
const verify = (repo: string, ...args: string[]) => verifyClone(r, repo, ...args);

describe('qbuild verify on a hostile clone', () => {
  it('never follows a symlink out of the clone: the checkpoint, the tile directory, a log', async () => {
    // A faithful copy of the ledger outside the clone, reached through symlinks: the bytes
    // would verify, but they are not the clone's.
    const outside = join(tmp(), 'outside');
    cpSync(r.dir, outside, { recursive: true });
    const a = clone();
    rmSync(join(a, 'checkpoint'));
    symlinkSync(join(outside, 'checkpoint'), join(a, 'checkpoint'));
    const va = await verify(a, 'ledger');
    expect([va.code, va.err]).toEqual([1, 'qbuild: verify: checkpoint: checkpoint is a symbolic link, not a file of the clone']);

    const b = clone();
    rmSync(join(b, 'tile'), { recursive: true });
    symlinkSync(join(outside, 'tile'), join(b, 'tile'));
    const vb = await verify(b, 'ledger');
    expect([vb.code, vb.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: tiles: tile\/0\/000\.p\/3: tile is a symbolic link, not a directory of the clone$/)]);

    const c = clone();
    rmSync(join(c, r.logs[1]!));
    symlinkSync(join(outside, r.logs[1]!), join(c, r.logs[1]!));
    const vc = await verify(c, 'log', r.logs[1]!);
    expect([vc.code, vc.err]).toEqual([1, `qbuild: verify: log file: ${r.logs[1]} is a symbolic link, not a file of the clone`]);
  });

  it('a checkpoint that is a device, and files far larger than any tile or checkpoint, are refused unread', async () => {
    const d = clone();
    rmSync(join(d, 'checkpoint'));
    symlinkSync('/dev/zero', join(d, 'checkpoint'));
    const v = await verify(d, 'ledger');
    expect([v.code, v.err]).toEqual([1, 'qbuild: verify: checkpoint: checkpoint is a symbolic link, not a file of the clone']);

    const big = clone();
    truncateSync(join(big, 'checkpoint'), 4 * 2 ** 30);
    const t0 = Date.now();
    const vb = await verify(big, 'ledger');
    expect([vb.code, vb.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: checkpoint: checkpoint is 4294967296 bytes, more than [0-9]+$/)]);
    const tile = clone();
    truncateSync(join(tile, 'tile/0/000.p/3'), 4 * 2 ** 30);
    const vt = await verify(tile, 'ledger');
    expect([vt.code, vt.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: tiles: tile\/0\/000\.p\/3 is 4294967296 bytes, more than [0-9]+$/)]);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a log larger than any buffer (1.1 GiB of zeros, 5 MB in git) is hashed as a stream, in the work tree and in the commit that added it', async () => {
    const d = clone();
    const path = 'build-fc/hello/log_2026-01-02_03-04-09';
    writeFileSync(join(d, ...path.split('/')), '');
    truncateSync(join(d, ...path.split('/')), 1100 * 2 ** 20);
    const h = createHash('sha256');
    const zeros = Buffer.alloc(2 ** 20);
    for (let i = 0; i < 1100; i++) h.update(zeros);
    const entry: LedgerEntry = { vm: 'build-fc', path, logSha256: h.digest('hex'), digests: [], start: '2026-01-02T03:04:09Z', end: '2026-01-02T03:05:09Z' };
    const encoded = [...r.entries, entry].map((e) => encodeEntry(e));
    const tree = new MerkleTree();
    for (const b of encoded) tree.append(leafHash(b));
    rmSync(join(d, 'tile'), { recursive: true });
    for (const f of [...tilesFor(tree, 0, 4), ...bundlesFor(0, 4, (i) => encoded[i]!)]) {
      mkdirSync(dirname(join(d, f.path)), { recursive: true });
      writeFileSync(join(d, f.path), f.bytes);
    }
    writeFileSync(join(d, 'checkpoint'), signCheckpoint({ origin: r.origin, size: 4, root: tree.root(), extensions: [] }, r.logSigner));
    gitIn(d, ['-c', 'core.compression=1', 'add', '-A']);
    gitIn(d, ['commit', '-q', '-m', `Add ${path}`]);
    const v = await verify(d, 'log', path);
    expect(v.out).toContain(`ok log file: ${path} sha256 ${entry.logSha256} matches its ledger entry`);
    // Unsigned by the logs git key (made here), but only after its bytes were found to be the entry's.
    expect([v.code, v.err]).toEqual([1, expect.stringMatching(new RegExp(`^qbuild: verify: git commit: commit [0-9a-f]{12} \\(adds ${path}\\) is not signed$`))]);
  }, 120_000);

  it('a checkpoint in the history far larger than a checkpoint is refused unread', async () => {
    const d = clone();
    const good = readFileSync(join(d, 'checkpoint'));
    writeFileSync(join(d, 'checkpoint'), Buffer.alloc(2 << 20));
    gitIn(d, ['commit', '-q', '-am', 'huge']);
    writeFileSync(join(d, 'checkpoint'), good);
    gitIn(d, ['commit', '-q', '-am', 'restore']);
    const v = await verify(d, 'ledger');
    expect([v.code, v.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: history: checkpoint at commit [0-9a-f]{12} is 2097152 bytes, more than 1048576$/)]);
  });

  it('a cosignature timestamp past what a date can hold is printed as the number, not an internal error', async () => {
    const d = clone();
    const w = generateWitnessKey('witness.test/far');
    const note = readFileSync(join(d, 'checkpoint'), 'utf8');
    writeFileSync(join(d, 'checkpoint'), note + cosignCheckpoint(parseNote(note).text, parseWitnessSignerKey(w.signerKey), 2 ** 50));
    const v = await verify(d, 'ledger', '--witness-key', w.verifierKey);
    expect([v.code, v.err]).toEqual([0, '']);
    expect(v.out).toContain(`ok cosignatures: witness.test/far at unix time ${2 ** 50}`);
  });

  it('verify ledger: a dangling symlink, a symlinked directory and a loop among the logs are not walked', async () => {
    const d = clone();
    const outside = join(tmp(), 'elsewhere');
    mkdirSync(join(outside, 'x'), { recursive: true });
    writeFileSync(join(outside, 'x', 'log_2026-01-03_00-00-00'), 'outside\n');
    symlinkSync('/nonexistent/qbuild', join(d, 'build-fc', 'dangling'));
    symlinkSync(outside, join(d, 'build-fc', 'away'));
    symlinkSync('.', join(d, 'build-fc', 'hello', 'loop'));
    const v = await verify(d, 'ledger');
    expect([v.code, v.err]).toEqual([1, 'qbuild: verify: log files: build-fc/away is a symbolic link in the logs repository']);
    const only = clone();
    symlinkSync('/nonexistent/qbuild', join(only, 'build-fc', 'dangling'));
    const w = await verify(only, 'ledger');
    expect([w.code, w.err]).toEqual([1, 'qbuild: verify: log files: build-fc/dangling is a symbolic link in the logs repository']);
    expect(readFileSync(join(only, 'checkpoint')).length).toBeGreaterThan(0);
  });

  it('a clone whose own .git/config sets a fsmonitor program, hooks and log.showSignature: nothing runs, the output is read as usual', async () => {
    const d = clone();
    const marker = join(tmp(), 'ran');
    const script = join(tmp(), 'fsmonitor.sh');
    writeFileSync(script, `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    for (const [k, v] of [['core.fsmonitor', script], ['log.showSignature', 'true'], ['log.decorate', 'full'], ['core.hooksPath', dirname(script)]]) gitIn(d, ['config', k!, v!]);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([0, '']);
    const p = await verify(d, 'package', r.rpm, '--signing-key', r.signingKeyFile);
    expect([p.code, p.err]).toEqual([0, '']);
    expect(existsSync(marker)).toBe(false);
  });

  it('a log blob damaged in the clone\'s object store (a valid header, a cut-off stream) is named as git failing, not as a changed log', async () => {
    const d = clone();
    const path = r.logs[1]!;
    const oid = gitIn(d, ['rev-parse', `HEAD:${path}`]).trim();
    const object = join(d, '.git', 'objects', oid.slice(0, 2), oid.slice(2));
    const whole = deflateSync(Buffer.concat([Buffer.from(`blob ${readFileSync(join(d, ...path.split('/'))).length}\0`), readFileSync(join(d, ...path.split('/')))]));
    rmSync(object, { force: true }); // a local clone hard-links objects: never write through the link
    writeFileSync(object, whole.subarray(0, Math.floor(whole.length / 2)));
    const v = await verify(d, 'package', r.rpm, '--signing-key', r.signingKeyFile);
    expect([v.code, v.err]).toEqual([1, expect.stringMatching(new RegExp(`^qbuild: verify: git commit: git cat-file blob [0-9a-f]{40}:${path.replace(/[/.]/g, '\\$&')} \\| sha256sum: `))]);
  });
});
