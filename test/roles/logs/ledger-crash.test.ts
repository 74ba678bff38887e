import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNote } from '../../../src/protocol/note/note.js';
import { parseCheckpoint } from '../../../src/protocol/tlog/checkpoint.js';
import { parseEntry } from '../../../src/protocol/tlog/entry.js';
import { verifyConsistency } from '../../../src/protocol/tlog/merkle.js';
import { treeFromTiles } from '../../../src/protocol/tlog/tiles.js';
import { openCosignatures, parseWitnessVerifierKey } from '../../../src/protocol/tlog/cosignature.js';
import { readEntries } from '../../../src/roles/logs/ledger/entries-file.js';
import { qbuildBin } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';
import { tempDirs } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { startWitness } from '../../helpers/witness.js';

const tmp = tempDirs('qb-ledger-crash-');

/** A logs qube without the simulator: config, state, BuildLog run by hand, the daemon as a child process. */
function logsQube(extra: Record<string, unknown> = {}) {
  const dir = tmp();
  const state = join(dir, 'state');
  const crash = join(dir, 'crash');
  mkdirSync(crash);
  writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({
    vm: 'logs', role: 'logs', logs: { buildVms: ['build-fedora'], keysVmFor: { 'build-fedora': 'keys-fedora' }, listen: '127.0.0.1:0', ...extra },
  }));
  const env = { PATH: process.env.PATH, HOME: dir, QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: state, QBUILD_CRASH_POINTS: crash };
  const store = join(state, 'store');
  return {
    state, store, env,
    async buildLog(text: string): Promise<string> {
      const r = await run(qbuildBin(), ['rpc', 'qubesbuilder.BuildLog'], {
        env: { ...env, QREXEC_REMOTE_DOMAIN: 'build-fedora', QREXEC_SERVICE_FULL_NAME: 'qubesbuilder.BuildLog' }, stdin: text,
      });
      expect(r.code, r.stderr.toString()).toBe(0);
      return r.stdout.toString().trim();
    },
    /** Runs the daemon until it has published `path` (then stops it), or until it kills itself at `crashAt`. */
    async serve(path: string, crashAt?: string): Promise<{ signal: string | null }> {
      if (crashAt) writeFileSync(join(crash, crashAt), '');
      const child = spawn(qbuildBin(), ['role', 'logs', '--serve'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      const exited = new Promise<{ signal: string | null }>((r) => child.on('exit', (_c, signal) => r({ signal })));
      if (crashAt) return exited;
      // Published: its record written and its spool record gone (the last step), so no later run repeats any of it.
      const id = path.replace(/\//g, '+');
      await waitFor(`the daemon to publish ${path} (${err})`, () => existsSync(join(state, 'published', `${id}.json`)) && !existsSync(join(state, 'spool', `${id}.done.json`)), 30_000);
      child.kill('SIGTERM');
      await exited;
      return { signal: null };
    },
    entries: () => readEntries(join(state, 'ledger', 'entries')).map((e) => parseEntry(e.bytes)),
    commits: async () => (await run('git', ['-C', store, 'log', '--format=%H %s', 'main'])).stdout.toString().trim().split('\n').filter(Boolean).reverse(),
    pending: () => { try { return readdirSync(join(state, 'tickets', 'pending')).filter((n) => n.endsWith('.json')); } catch { return []; } },
  };
}

const log = (tag: string) => `build ${tag}\nqbuild-sign sha256:${'ab'.repeat(32)} ${tag}.rpm\nqbuild-log-end\n`;

describe('ledger crash safety: the daemon SIGKILLed at each step of publishing a log (the built binary)', () => {
  it.each(['ledger-mid-append', 'ledger-appended', 'checkpoint-signed', 'committed', 'ticket-queued'])('killed at %s: the restart continues the same tree, one entry, one commit, one ticket per log', async (point) => {
    const q = logsQube();
    const first = await q.buildLog(log('first'));
    await q.serve(first);
    const second = await q.buildLog(log('second'));
    expect((await q.serve(second, point)).signal).toBe('SIGKILL');
    const stored = readFileSync(join(q.state, 'ledger', 'entries')).length;
    // What survived the kill: half a record (cut off when read, as the restarted daemon does), or the whole entry, appended before anything refers to it.
    expect(q.entries().map((e) => e.path)).toEqual(point === 'ledger-mid-append' ? [first] : [first, second]);
    if (point === 'ledger-mid-append') expect(readFileSync(join(q.state, 'ledger', 'entries')).length).toBeLessThan(stored);
    await q.serve(second);

    expect(q.entries().map((e) => e.path)).toEqual([first, second]);
    const commits = await q.commits();
    expect(commits.map((c) => c.split(' ').slice(1).join(' '))).toEqual([`Add ${first}`, `Add ${second}`]);
    const cps = [];
    for (const c of commits) {
      const text = (await run('git', ['-C', q.store, 'show', `${c.split(' ')[0]}:checkpoint`])).stdout.toString();
      cps.push(parseCheckpoint(parseNote(text).text));
    }
    expect(cps.map((c) => c.size)).toEqual([1, 2]);
    const read = (p: string) => { try { return readFileSync(join(q.store, ...p.split('/'))); } catch { return undefined; } };
    const tree = treeFromTiles(read, 2);
    expect(tree.root().equals(cps[1]!.root)).toBe(true);
    expect(verifyConsistency(1, 2, cps[0]!.root, cps[1]!.root, tree.consistencyProof(1, 2))).toBe(true);
    // No keys VM answers here, so both tickets wait: one per log.
    expect(q.pending().map((n) => n.replace(/^\d+-/, '')).sort()).toEqual([first, second].map((p) => `${p.replace(/\//g, '+')}.json`).sort());
  }, 90_000);

  it('killed while the witnesses were being asked: the restart asks them again, and the commit carries their cosignature', async () => {
    const witness = await startWitness({ name: 'witness.test/w1', dir: tmp() });
    try {
      const q = logsQube({ witnesses: [{ url: witness.url, vkey: witness.vkey }] });
      const first = await q.buildLog(log('first'));
      await q.serve(first);
      const vkey = (await run(qbuildBin(), ['role', 'logs', 'verifier-key'], { env: q.env })).stdout.toString().trim();
      witness.trust(parseCheckpoint(parseNote(readFileSync(join(q.state, 'ledger', 'checkpoint'), 'utf8')).text).origin, vkey);
      const second = await q.buildLog(log('second'));
      expect((await q.serve(second, 'checkpoint-witnesses')).signal).toBe('SIGKILL');
      expect(witness.requests.filter((r) => r.size === 2)).toEqual([]);
      await q.serve(second);
      const head = (await run('git', ['-C', q.store, 'show', 'main:checkpoint'])).stdout.toString();
      expect(parseCheckpoint(parseNote(head).text).size).toBe(2);
      expect(openCosignatures(head, [parseWitnessVerifierKey(witness.vkey)]).map((c) => c.name)).toEqual(['witness.test/w1']);
      expect(witness.held(parseCheckpoint(parseNote(head).text).origin)).toBe(2);
    } finally {
      await witness.close();
    }
  }, 90_000);
});
