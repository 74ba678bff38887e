import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNote, parseVerifierKey } from '../../../src/protocol/note/note.js';
import { openAnyTicket } from '../../../src/protocol/ticket/open.js';
import { openCheckpoint, parseCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { encodeEntry, parseEntry } from '../../../src/protocol/tlog/entry.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../../../src/protocol/tlog/merkle.js';
import { entriesFromTiles, treeFromTiles } from '../../../src/protocol/tlog/tiles.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';
import { run } from '../../helpers/run.js';
import { waitFor } from '../../helpers/wait.js';
import { startLogsSim, type LogsSim } from './logs-sim.js';

const ORIGIN = 'qbuild.logs/logs';
const digest = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'ed25519@test.invalid';

let sim: LogsSim;
let gpgHome: GpgHome | undefined;
let at2 = '';
beforeAll(async () => { sim = await startLogsSim(); at2 = join(sim.dir, 'ledger-at-2'); }, 60_000);
afterAll(async () => {
  await sim?.down();
  if (gpgHome) {
    await run('gpgconf', ['--homedir', gpgHome.dir, '--kill', 'all']);
    rmSync(gpgHome.dir, { recursive: true, force: true });
  }
});

const git = async (...args: string[]) => (await run('git', ['-C', sim.store, ...args])).stdout.toString();
const keysLog = (): string => { try { return readFileSync(join(sim.stateDir('keys-fedora'), 'keys.log'), 'utf8'); } catch { return ''; } };
const heldCheckpoint = (): string | undefined => { try { return readFileSync(join(sim.stateDir('keys-fedora'), 'ledger', 'checkpoint'), 'utf8'); } catch { return undefined; } };
const committedAt = async (rev: string, path: string): Promise<Buffer> => (await run('git', ['-C', sim.store, 'show', `${rev}:${path}`])).stdout;

/** Sends one build log naming `digests` to sign; returns its store path once it is committed. */
async function sendLog(tag: string, digests: (number | string)[]): Promise<string> {
  const hex = (d: number | string) => (typeof d === 'number' ? digest(d) : d);
  const lines = [`build ${tag}`, ...digests.map((d, i) => `qbuild-sign sha256:${hex(d)} ${tag}-${i + 1}.rpm`), 'qbuild-log-end'];
  const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: `${lines.join('\n')}\n` });
  expect(r.code, r.stderr.toString()).toBe(0);
  const path = r.stdout.toString().trim();
  await waitFor(`the commit of ${path}`, async () => (await git('log', '--format=%s', 'main')).includes(`Add ${path}`), 30_000);
  return path;
}

/** The keys VM's log line for the ticket of `path`, once there is one. */
const keysVerdict = (path: string) => waitFor(`keys-fedora's verdict on ${path}`, () => keysLog().split('\n').find((l) => l.includes(path)), 30_000);

describe('ledger in the logs VM, proofs checked by the keys VM (through the simulator)', () => {
  it('build log → entry → checkpoint → ticket v2 → the keys VM accepts and holds the checkpoint → qbuild sign signs', async () => {
    const data = Buffer.from('the package the build VM built\n');
    const imported = await sim.run('keys-fedora', ['role', 'keys', 'import', '-'], { stdin: fixture('gpg-ed25519.sec.asc') });
    expect(imported.code, imported.stderr.toString()).toBe(0);
    const path = await sendLog('one', [sha256(data), 2]);
    const verdict = await keysVerdict(path);
    expect(verdict).toMatch(/LogReceived from=logs accepted .* v2 leaf=0 checkpoint=1$/);

    // One commit holds the log, checkpoint, tiles, entry bundle and provenance; it verifies with GnuPG.
    const files = (await git('show', '--name-only', '--format=%s', 'main')).trim().split('\n');
    expect(files[0]).toBe(`Add ${path}`);
    expect(files.slice(1).filter(Boolean).sort()).toEqual(['checkpoint', path, `${path}.intoto.json`, 'tile/0/000.p/1', 'tile/entries/000.p/1'].sort());
    const gnupg = gpgHome = new GpgHome();
    gnupg.gpgSync(['--import', join(sim.stateDir('logs'), 'pgp-public.asc')]);
    const v = await run('git', ['-C', sim.store, 'verify-commit', 'main'], { env: gnupg.env });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stderr).toContain('Good signature from "qbuild logs');

    // The committed checkpoint is signed by the ticket key and commits to the entry of this log.
    const key = parseVerifierKey(sim.verifierKey);
    const c = openCheckpoint(await committedAt('main', 'checkpoint'), [key], ORIGIN);
    expect(c.size).toBe(1);
    const read = (p: string) => { try { return readFileSync(join(sim.store, ...p.split('/'))); } catch { return undefined; } };
    const tree = treeFromTiles(read, 1);
    expect(tree.root().equals(c.root)).toBe(true);
    const [entry] = entriesFromTiles(read, 1);
    const e = parseEntry(entry!);
    const sha = (await run('sha256sum', [join(sim.store, path)])).stdout.toString().slice(0, 64);
    expect(e).toMatchObject({ vm: 'build-fedora', path, logSha256: sha });
    expect(e.digests).toEqual([sha256(data), digest(2)].map((d, i) => ({ form: 'binary', sha256: d, label: `one-${i + 1}.rpm` })));

    // The ticket the keys VM stored carries that checkpoint and a proof of the entry.
    const received = join(sim.stateDir('keys-fedora'), 'tickets', 'build-fedora', 'received');
    const note = readFileSync(join(received, readdirSync(received).sort().at(-1)!), 'utf8');
    const got = openAnyTicket(note, [key]);
    expect(got.version).toBe(2);
    if (got.version !== 2) return;
    expect(got.ticket.leafIndex).toBe(0);
    expect(verifyInclusion(0, 1, leafHash(encodeEntry(e)), got.ticket.inclusion, c.root)).toBe(true);
    expect(heldCheckpoint()).toBe(got.ticket.checkpoint);

    // The build VM's signature request for those bytes is granted; gpgv verifies the result.
    const out = join(sim.qubeDir('build-fedora'), 'home', 'one.sig');
    const signed = await sim.run('build-fedora', ['sign', '-u', KEY, '-abs', '-o', out], { stdin: data });
    expect(signed.code, signed.stderr.toString()).toBe(0);
    const ring = await gnupg.keyring('gpg-ed25519.pub.asc');
    writeFileSync(join(gnupg.dir, 'data'), data);
    const ok = await gnupg.gpgv(ring, out, join(gnupg.dir, 'data'));
    expect(ok.code, ok.stderr).toBe(0);
    const other = await sim.run('build-fedora', ['sign', '-u', KEY, '-abs', '-o', `${out}.2`], { stdin: 'other bytes\n' });
    expect(other.code).not.toBe(0);
    expect(other.stderr.toString()).toMatch(/no ticket for sha256:/);
  }, 90_000);

  it('grows by one entry per log, each committed checkpoint consistent with the last, across a daemon restart', async () => {
    const before = parseCheckpoint(parseNote(await committedAt('main', 'checkpoint')).text);
    const first = await sendLog('two', [3]);
    // Kept for the roll-back test below: the ledger state at size 2 (the daemon is idle once the log is committed).
    cpSync(join(sim.stateDir('logs'), 'ledger'), at2, { recursive: true });
    const pid = sim.daemonPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the daemon restart', () => { try { return sim.daemonPid() !== pid; } catch { return false; } });
    // The logs VM's record of what keys-fedora holds is lost (it says 0): the first call is refused
    // with the size keys-fedora holds, and the ticket goes again, proved from it, with no operator.
    await waitFor('the first ticket recorded as delivered', () => existsSync(join(sim.stateDir('logs'), 'tickets', 'sent', `${first.replace(/\//g, '+')}.json`)), 30_000);
    writeFileSync(join(sim.stateDir('logs'), 'tickets', 'keys-checkpoints.json'), '{"keys-fedora":0}\n');
    const second = await sendLog('three', [4]);
    expect(await keysVerdict(second)).toMatch(/refused ticket for \S+: consistency proof is from size 0, this keys VM holds size 2$/);
    await waitFor('the ticket re-sent from the held size', () => /accepted .* v2 leaf=2 checkpoint=3$/m.test(keysLog()));
    expect(await keysVerdict(first)).toMatch(/accepted .* v2 leaf=1 checkpoint=2$/);

    const revs = (await git('rev-list', 'main')).trim().split('\n').reverse();
    const sizes: number[] = [];
    let last = undefined as ReturnType<typeof parseCheckpoint> | undefined;
    for (const rev of revs) {
      const c = parseCheckpoint(parseNote(await committedAt(rev, 'checkpoint')).text);
      sizes.push(c.size);
      if (last) {
        const read = (p: string) => { try { return readFileSync(join(sim.store, ...p.split('/'))); } catch { return undefined; } };
        const tree = treeFromTiles(read, c.size);
        expect(tree.root().equals(c.root)).toBe(true);
        expect(verifyConsistency(last.size, c.size, last.root, c.root, tree.consistencyProof(last.size, c.size))).toBe(true);
      }
      last = c;
    }
    expect(sizes).toEqual([1, 2, 3]);
    expect(before.size).toBe(1);
  }, 90_000);

  it('a forked ledger and a rolled-back one (older ledger state dirs restored in the logs qube): the keys VM refuses, names why, grants nothing', async () => {
    const logsState = sim.stateDir('logs');
    const at3 = join(sim.dir, 'ledger-at-3');
    cpSync(join(logsState, 'ledger'), at3, { recursive: true });
    const four = await sendLog('four', [5]);
    expect(await keysVerdict(four)).toMatch(/accepted .* v2 leaf=3 checkpoint=4$/);

    /** Replaces the logs qube's ledger state with a saved copy while its daemon is stopped; the simulator restarts it. */
    const restore = async (copy: string) => {
      const pid = sim.daemonPid();
      process.kill(pid, 'SIGSTOP');
      rmSync(join(logsState, 'ledger'), { recursive: true, force: true });
      cpSync(copy, join(logsState, 'ledger'), { recursive: true });
      process.kill(pid, 'SIGKILL');
      await waitFor('the daemon restart', () => { try { return sim.daemonPid() !== pid; } catch { return false; } });
    };
    // Fork: the ledger as it was at size 3, then another log: a different tree of size 4.
    await restore(at3);
    const forked = await sendLog('forked', [6]);
    expect(await keysVerdict(forked)).toMatch(/refused ticket for \S+: forked ledger: checkpoint size 4 has another root than the held checkpoint of the same size$/);
    // Roll-back: the ledger as it was at size 2, then a log: a tree of size 3, older than the held 4.
    await restore(at2);
    const rolled = await sendLog('rolled', [7]);
    expect(await keysVerdict(rolled)).toMatch(/refused ticket for \S+: rolled-back ledger: checkpoint size 3 is older than the held checkpoint \(size 4\)$/);
    expect(parseCheckpoint(parseNote(heldCheckpoint()!).text).size).toBe(4);

    // Nothing of the refused logs was granted; the logs VM set their tickets aside, named.
    const grants = join(sim.stateDir('keys-fedora'), 'tickets', 'build-fedora', 'grants');
    expect(existsSync(join(grants, `${digest(5)}.json`))).toBe(true);
    expect(existsSync(join(grants, `${digest(6)}.json`))).toBe(false);
    expect(existsSync(join(grants, `${digest(7)}.json`))).toBe(false);
    const refused = join(logsState, 'tickets', 'refused');
    await waitFor('both tickets set aside', () => existsSync(refused) && readdirSync(refused).filter((n) => n.endsWith('.reason')).length === 2);
    const status = (await sim.run('logs', ['role', 'logs', 'status'])).stdout.toString();
    expect(status).toContain('refused tickets: 2\n');
    expect(status).toMatch(/^ledger: qbuild\.logs\/logs, checkpoint size 3, root \S+$/m);
  }, 120_000);
});
