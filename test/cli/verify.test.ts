import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../src/protocol/tlog/checkpoint.js';
import { cosignCheckpoint, generateWitnessKey, parseWitnessSignerKey } from '../../src/protocol/tlog/cosignature.js';
import { parseNote } from '../../src/protocol/note/note.js';
import { leafHash, MerkleTree } from '../../src/protocol/tlog/merkle.js';
import { entryBundle, tilesFor } from '../../src/protocol/tlog/tiles.js';
import { encodeEntry } from '../../src/protocol/tlog/entry.js';
import { qbuildBin } from '../helpers/binary.js';
import { run } from '../helpers/run.js';
import { tempDirs } from '../helpers/tmp.js';
import { cloneLogsRepo, gitIn, logsRepoForTests, verifyClone } from './verify-repo.js';

const tmp = tempDirs('qbuild-verify-');
const r = logsRepoForTests('qbuild-verify-repo-');
/** A fresh clone of the published repository, as an auditor makes one. */
const clone = (): string => cloneLogsRepo(r, tmp());
const verify = (repo: string, ...args: string[]) => verifyClone(r, repo, ...args);
const pkg = (repo: string) => verify(repo, 'package', r.rpm, '--signing-key', r.signingKeyFile);

describe('qbuild verify on a logs repository', () => {
  it('accepts a signed rpm: signature, ledger entry, inclusion, log file, signed commit, provenance', async () => {
    const v = await pkg(clone());
    expect(v.err).toBe('');
    expect(v.code).toBe(0);
    const checks = v.out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3, l.indexOf(':')));
    expect(checks).toEqual(['signature', 'checkpoint', 'tiles', 'entries', 'ledger entry', 'inclusion', 'log file', 'git commit', 'provenance']);
    expect(v.out).toMatch(/ok ledger entry: leaf 1: build-fc\/hello\/log_2026-01-02_03-04-01 names qbuild-hello-1\.0-1\.noarch\.rpm/);
    expect(v.out).toMatch(/ok provenance: .*built by https:\/\/qbuild\.invalid\/builders\/fedora\/build-fc from hello v1\.0-1 ffffffffffff r4\.2 vm-fc41/);
  });

  it('accepts a detached-signed file, the whole ledger and one log', async () => {
    const d = clone();
    const f = await verify(d, 'package', r.repomd, '--signature', r.repomdSig, '--signing-key', r.signingKeyFile);
    expect([f.code, f.err]).toEqual([0, '']);
    expect(f.out).toMatch(/ok ledger entry: leaf 2: .* names repomd\.xml/);
    const c = await verify(d, 'package', r.inRelease, '--signing-key', r.signingKeyFile);
    expect([c.code, c.err]).toEqual([0, '']);
    expect(c.out).toMatch(/ok signature: .*InRelease: cleartext signature by [0-9A-F]{40}/);
    expect(c.out).toMatch(/ok ledger entry: leaf 2: .* names Release \(clearsign sha256 [0-9a-f]{64}\)/);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([0, '']);
    expect(l.out).toMatch(/ok history: 3 checkpoints in the git history, each signed and consistent with size 3/);
    expect(l.out).toMatch(/ok log files: 3 logs match their entries/);
    const one = await verify(d, 'log', r.logs[0]!);
    expect([one.code, one.err]).toEqual([0, '']);
    expect(one.out).toMatch(/-- provenance: not checked \(the log named nothing to sign\)/);
  });

  it('a changed byte in a log file', async () => {
    const d = clone();
    const p = join(d, r.logs[1]!);
    const b = readFileSync(p);
    b[b.length - 3] ^= 1;
    writeFileSync(p, b);
    gitIn(d, ['commit', '-q', '-am', 'edit']);
    const v = await pkg(d);
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/^qbuild: verify: log file: build-fc\/hello\/log_2026-01-02_03-04-01 has sha256 [0-9a-f]{64}, the ledger entry says [0-9a-f]{64}: the log was changed$/);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: log files: entry 1: .* the log was changed$/)]);
  });

  it('a removed ledger entry: the bundle cut, or the whole ledger rebuilt and re-signed without it', async () => {
    const cut = clone();
    writeFileSync(join(cut, 'tile/entries/000.p/3'), entryBundle([encodeEntry(r.entries[0]!), encodeEntry(r.entries[2]!)]));
    const v = await pkg(cut);
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/^qbuild: verify: entries: .*tile\/entries\/000\.p\/3 holds 2 entries, not 3$/);

    // Even the logs VM's own key cannot hide it: the history still holds the checkpoint of 3.
    const d = clone();
    const t = new MerkleTree();
    const kept = [r.entries[0]!, r.entries[2]!].map((e) => encodeEntry(e));
    for (const b of kept) t.append(leafHash(b));
    rmSync(join(d, 'tile'), { recursive: true });
    for (const f of [...tilesFor(t, 0, 2), { path: 'tile/entries/000.p/2', bytes: entryBundle(kept) }]) {
      mkdirSync(dirname(join(d, f.path)), { recursive: true });
      writeFileSync(join(d, f.path), f.bytes);
    }
    writeFileSync(join(d, 'checkpoint'), signCheckpoint({ origin: r.origin, size: 2, root: t.root(), extensions: [] }, r.logSigner));
    rmSync(join(d, r.logs[1]!));
    rmSync(join(d, `${r.logs[1]!}.intoto.json`));
    gitIn(d, ['add', '-A']);
    gitIn(d, ['commit', '-q', '-m', 'rewrite']);
    const p = await pkg(d);
    expect([p.code, p.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: ledger entry: no ledger entry names binary sha256 [0-9a-f]{64}$/)]);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: history: commit [0-9a-f]{12}: checkpoint of size 2 is not consistent with the current tree: entries were changed or removed$/)]);
    const one = await verify(d, 'log', r.logs[1]!);
    expect([one.code, one.err]).toEqual([1, `qbuild: verify: ledger entry: no ledger entry names the log ${r.logs[1]}`]);

    // A log published without an entry at all.
    const stray = clone();
    mkdirSync(join(stray, 'build-fc', 'other'), { recursive: true });
    writeFileSync(join(stray, 'build-fc', 'other', 'log_2026-01-03_00-00-00'), 'never in the ledger\n');
    const s = await verify(stray, 'ledger');
    expect([s.code, s.err]).toEqual([1, 'qbuild: verify: log files: build-fc/other/log_2026-01-03_00-00-00 has no ledger entry']);
  });

  it('a forged checkpoint signature', async () => {
    const d = clone();
    const note = readFileSync(join(d, 'checkpoint'), 'utf8');
    const sig = note.slice(note.lastIndexOf(' ') + 1, -1);
    const bytes = Buffer.from(sig, 'base64');
    bytes[10] ^= 0xff;
    writeFileSync(join(d, 'checkpoint'), note.replace(sig, bytes.toString('base64')));
    const v = await pkg(d);
    expect([v.code, v.err]).toEqual([1, 'qbuild: verify: checkpoint: signed note: signature by qbuild-logs/logs-test does not verify']);
  });

  it('an entry that does not match its proof (a changed entry or hash tile)', async () => {
    const d = clone();
    const changed = { ...r.entries[1]!, digests: [{ ...r.entries[1]!.digests[0]!, sha256: 'e'.repeat(64) }] };
    writeFileSync(join(d, 'tile/entries/000.p/3'), entryBundle([r.entries[0]!, changed, r.entries[2]!].map((e) => encodeEntry(e))));
    const v = await pkg(d);
    expect([v.code, v.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: entries: .*entry 1 .*does not hash to leaf 1$/)]);
    const t = clone();
    const tile = readFileSync(join(t, 'tile/0/000.p/3'));
    tile[40] ^= 1;
    writeFileSync(join(t, 'tile/0/000.p/3'), tile);
    const w = await pkg(t);
    expect([w.code, w.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: tiles: the tiles' root \S+ is not the checkpoint's \S+$/)]);
  });

  it('a ledger rolled back in a later commit', async () => {
    const d = clone();
    gitIn(d, ['checkout', 'HEAD~1', '--', 'checkpoint']);
    gitIn(d, ['commit', '-q', '-m', 'roll back']);
    const l = await verify(d, 'ledger');
    expect([l.code, l.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: history: commit [0-9a-f]{12}: checkpoint size 3 is larger than the current 2: the ledger was rolled back$/)]);
  });

  it('a log whose commit is not signed by the logs git key, and a changed provenance', async () => {
    const d = clone();
    const log = r.logs[1]!;
    const bytes = readFileSync(join(d, log));
    gitIn(d, ['rm', '-q', log]);
    gitIn(d, ['commit', '-q', '-m', 'remove']);
    writeFileSync(join(d, log), bytes);
    gitIn(d, ['add', log]);
    gitIn(d, ['commit', '-q', '-m', `Add ${log}`]);
    const v = await pkg(d);
    expect([v.code, v.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: git commit: commit [0-9a-f]{12} \(adds build-fc\/hello\/log_2026-01-02_03-04-01\) is not signed$/)]);
    const other = await run(qbuildBin(), ['verify', 'package', r.rpm, '--signing-key', r.signingKeyFile, '--logs-repo', clone(), '--log-key', r.logVkey, '--git-key', r.signingKeyFile]);
    expect([other.code, other.stderr.trim()]).toEqual([1, expect.stringMatching(/^qbuild: verify: git commit: commit [0-9a-f]{12} \(adds .*\): not signed by the given key$/)]);

    const p = clone();
    const file = join(p, `${log}.intoto.json`);
    const env = JSON.parse(readFileSync(file, 'utf8')) as { payload: string };
    env.payload = Buffer.from(Buffer.from(env.payload, 'base64').toString().replace('v1.0-1', 'v6.6-6')).toString('base64');
    writeFileSync(file, JSON.stringify(env));
    const q = await pkg(p);
    expect([q.code, q.err]).toEqual([1, 'qbuild: verify: provenance: DSSE envelope: signature by qbuild-logs/logs-test+' + r.logVkey.split('+')[1] + ' does not verify']);
  });

  it('a package signed by another key, an unsigned file, and usage errors', async () => {
    const d = clone();
    const wrong = await verify(d, 'package', r.rpm, '--signing-key', r.gitKeyFile);
    expect([wrong.code, wrong.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: signature: .*rpm header signature: not signed by the given key$/)]);
    const plain = join(tmp(), 'repomd.xml');
    copyFileSync(r.repomd, plain);
    const unsigned = await verify(d, 'package', plain, '--signing-key', r.signingKeyFile);
    expect([unsigned.code, unsigned.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: signature: .* give its detached signature with --signature$/)]);
    const unsignedRpm = new URL('../fixtures/rpm/qbuild-hello-1.0-1.noarch.rpm', import.meta.url).pathname;
    const u = await verify(d, 'package', unsignedRpm, '--signing-key', r.signingKeyFile);
    expect([u.code, u.err]).toEqual([1, `qbuild: verify: signature: ${unsignedRpm} is an unsigned rpm (no header signature)`]);
    const noKey = await verify(d, 'package', r.rpm);
    expect([noKey.code, noKey.err]).toEqual([2, expect.stringMatching(/^qbuild: verify: verify package needs --signing-key; usage: /)]);
    const empty = tmp();
    gitIn(empty, ['init', '-q']);
    const e = await verify(empty, 'ledger');
    expect([e.code, e.err]).toEqual([2, `qbuild: verify: --logs-repo ${empty} has no commit (clone the logs repository the logs VM pushes)`]);
    const badKey = await run(qbuildBin(), ['verify', 'ledger', '--logs-repo', d, '--log-key', 'nonsense+00000000+AAAA']);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr.trim()).toMatch(/^qbuild: verify: --log-key: /);
  });

  it('a .deb through its suite: the InRelease, the Packages index it lists (plain or .gz), the entry naming the deb', async () => {
    const d = clone();
    for (const packages of [r.packages, r.packagesGz]) {
      const v = await verify(d, 'package', r.deb, '--release', r.inRelease, '--packages', packages, '--signing-key', r.signingKeyFile);
      expect([v.code, v.err]).toEqual([0, '']);
      expect(v.out.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3, l.indexOf(':')))).toEqual(
        ['signature', 'release index', 'package index', 'checkpoint', 'tiles', 'entries', 'ledger entry', 'inclusion', 'log file', 'git commit', 'provenance']);
      expect(v.out).toMatch(new RegExp(`ok release index: suite bookworm-testing lists main/binary-amd64/Packages${packages.endsWith('.gz') ? '\\.gz' : ''} \\(sha256 [0-9a-f]{64}\\)`));
      expect(v.out).toMatch(/ok package index: main\/binary-amd64\/Packages(\.gz)? lists qbuild-hello 1\.0-1\+deb12u1 all \(pool\/main\/q\/qbuild-hello\/qbuild-hello_1\.0-1\+deb12u1_all\.deb, sha256 [0-9a-f]{64}\)/);
      expect(v.out).toMatch(/ok ledger entry: leaf 2: .* names Release \(clearsign sha256 [0-9a-f]{64}\)/);
    }
  });

  it('a .deb is refused without its suite, or when a byte of it or of its Packages index changed, or the InRelease is signed by another key', async () => {
    const d = clone();
    const bare = await verify(d, 'package', r.deb, '--signing-key', r.signingKeyFile);
    expect([bare.code, bare.err]).toEqual([1, `qbuild: verify: signature: ${r.deb} is a .deb, signed only through its suite: give the suite's InRelease with --release and the Packages index it lists with --packages`]);
    const half = await verify(d, 'package', r.deb, '--release', r.inRelease, '--signing-key', r.signingKeyFile);
    expect([half.code, half.err]).toEqual([2, "qbuild: verify: --release and --packages go together: the suite's InRelease and the Packages index it lists"]);

    const deb = readFileSync(r.deb);
    deb[deb.length - 10] ^= 1;
    const changedDeb = join(tmp(), 'changed.deb');
    writeFileSync(changedDeb, deb);
    const cd = await verify(d, 'package', changedDeb, '--release', r.inRelease, '--packages', r.packages, '--signing-key', r.signingKeyFile);
    expect([cd.code, cd.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: package index: main\/binary-amd64\/Packages lists no package with changed\.deb's sha256 [0-9a-f]{64} and size \d+$/)]);

    const changedPackages = join(tmp(), 'Packages');
    writeFileSync(changedPackages, readFileSync(r.packages, 'utf8').replace('Package: qbuild-hello', 'Package: qbuild-hellp'));
    const cp = await verify(d, 'package', r.deb, '--release', r.inRelease, '--packages', changedPackages, '--signing-key', r.signingKeyFile);
    expect([cp.code, cp.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: release index: Packages \(sha256 [0-9a-f]{64}, \d+ bytes\) is not a Packages index the signed Release lists$/)]);

    const wrong = await verify(d, 'package', r.deb, '--release', r.inRelease, '--packages', r.packages, '--signing-key', r.gitKeyFile);
    expect([wrong.code, wrong.err]).toEqual([1, `qbuild: verify: signature: ${r.inRelease}: cleartext signature: not signed by the given key`]);
  });

  it('with --witness-key, the checkpoint must carry a valid cosignature by each given witness', async () => {
    const d = clone();
    const w = generateWitnessKey('witness.test/w1');
    const other = generateWitnessKey('witness.test/w2');
    const note = readFileSync(join(d, 'checkpoint'), 'utf8');
    const line = cosignCheckpoint(parseNote(note).text, parseWitnessSignerKey(w.signerKey), 1_800_000_000);
    writeFileSync(join(d, 'checkpoint'), note + line);
    const ok = await verify(d, 'ledger', '--witness-key', w.verifierKey);
    expect([ok.code, ok.err]).toEqual([0, '']);
    expect(ok.out).toContain('ok cosignatures: witness.test/w1 at 2027-01-15T08:00:00.000Z');
    const missing = await verify(d, 'ledger', '--witness-key', w.verifierKey, '--witness-key', other.verifierKey);
    expect([missing.code, missing.err]).toEqual([1, 'qbuild: verify: cosignatures: the checkpoint has no cosignature by witness.test/w2']);
    const sig = Buffer.from(line.trimEnd().split(' ')[2]!, 'base64');
    sig[30] ^= 1;
    writeFileSync(join(d, 'checkpoint'), `${note}\u2014 witness.test/w1 ${sig.toString('base64')}\n`);
    const bad = await verify(d, 'ledger', '--witness-key', w.verifierKey);
    expect([bad.code, bad.err]).toEqual([1, expect.stringMatching(/^qbuild: verify: cosignatures: .*cosignature by witness\.test\/w1 does not verify$/)]);
  });
});
