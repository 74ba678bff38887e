import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QbuildError } from '../../../../src/errors.js';
import { fetchSource, DEFAULT_FETCH_LIMITS, type FetchLimits } from '../../../../src/roles/build/fetch/fetch-source.js';
import { startGitServer, type GitServer } from '../../../helpers/git-server.js';
import { makeComponentRepo, MaintainerKeys, type Maintainer, type TagSpec } from '../../../helpers/maintainers.js';
import { freePort, listenLoopback } from '../../../helpers/net.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';
import { collectingLog, component, stageContext } from './stage-context.js';

const tmp = tempDirs('qb-fetch-');
let keys: MaintainerKeys;
let server: GitServer;
let root: string;
let alice: Maintainer, bob: Maintainer, carol: Maintainer, mallory: Maintainer;

const FILES = { 'app.spec': 'Name: app\n', 'src/main.c': 'int main(void) { return 0; }\n', 'build.sh': '#!/bin/sh\necho hi\n' };
let repoCount = 0;

beforeAll(async () => {
  keys = new MaintainerKeys();
  alice = keys.create('Alice');
  bob = keys.create('Bob');
  carol = keys.create('Carol');
  mallory = keys.create('Mallory');
  root = mkdtempSync(join(tmpdir(), 'qb-git-root-'));
  server = await startGitServer(root);
});

afterAll(async () => {
  await server?.close();
  keys?.cleanup();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A fresh served repo with `tags` (and options), fetched by a component of `maintainers`. */
function repo(tags: TagSpec[], opts: { commitAfterTags?: boolean } = {}) {
  const name = `app-${++repoCount}.git`;
  const made = makeComponentRepo({ keys, root, name, files: FILES, executable: ['build.sh'], tags, ...opts });
  return { ...made, url: server.url(name) };
}

async function fetchWith(url: string, maintainers: Maintainer[], min: number, o: { armored?: string; limits?: Partial<FetchLimits>; branch?: string; signal?: AbortSignal } = {}) {
  const workDir = tmp();
  const log = collectingLog();
  const ctx = stageContext(workDir, o.armored ?? keys.armored(...maintainers), o.signal);
  const comp = component(url, maintainers.map((m) => m.fingerprint), min, o.branch);
  try {
    const src = await fetchSource(ctx, comp, log, { ...DEFAULT_FETCH_LIMITS, ...o.limits });
    return { src, log: log.text(), workDir, error: undefined };
  } catch (e) {
    return { src: undefined, log: log.text(), workDir, error: e as QbuildError };
  }
}

/** The refusal: a QbuildError('source') whose one-line message matches, and the log's verdict says the same. */
function expectRefused(r: Awaited<ReturnType<typeof fetchWith>>, why: RegExp) {
  expect(r.src).toBeUndefined();
  expect(r.error).toBeInstanceOf(QbuildError);
  expect(r.error!.code).toBe('source');
  expect(r.error!.message).toMatch(why);
  expect(r.error!.message).not.toContain('\n');
  const verdict = r.log.split('\n').find((l) => l.startsWith('verdict: '));
  expect(verdict).toMatch(/^verdict: REFUSED: /);
  expect(verdict).toMatch(why);
}

describe('fetch stage through the real git http-backend', () => {
  it('accepts a v* tag on the head signed by the one maintainer, and checks out its tree', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }]);
    // The fixture is what git itself calls a good signed tag.
    const gv = execFileSync('git', ['-C', r0.bare, 'verify-tag', '--raw', 'v1.0.0'], {
      env: { ...process.env, GNUPGHOME: keys.gpg.dir }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(gv).toBeDefined();
    const r = await fetchWith(r0.url, [alice], 1);
    expect(r.error).toBeUndefined();
    expect(r.src).toEqual({
      component: 'app', dir: join(r.workDir, 'source'), gitDir: join(r.workDir, 'source.git'), commit: r0.head, tag: 'v1.0.0', version: '1.0.0', signers: [alice.fingerprint],
    });
    for (const [path, text] of Object.entries(FILES)) expect(readFileSync(join(r.src!.dir, path), 'utf8')).toBe(text);
    expect(statSync(join(r.src!.dir, 'src')).isDirectory()).toBe(true);
    expect(statSync(join(r.src!.dir, 'build.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(r.src!.dir, 'app.spec')).mode & 0o777).toBe(0o644);
    expect(r.log).toContain(`main is at ${r0.head}`);
    expect(r.log).toContain('annotated v* tags on the head: v1.0.0');
    expect(r.log).toMatch(new RegExp(`tag v1\\.0\\.0 .*good signature by maintainer ${alice.fingerprint} "Alice <alice@example.invalid>"`));
    expect(r.log).toMatch(new RegExp(`verdict: ACCEPTED v1\\.0\\.0 \\(version 1\\.0\\.0\\) at ${r0.head}: 1 distinct maintainer signed \\(1 required\\): ${alice.fingerprint}`));
    expect(r.log).toMatch(/checked out .* 3 files/);
    // Real git and gpg read the fetched repository and agree with the verdict on its bytes.
    const gitdir = join(r.workDir, 'source.git');
    expect(execFileSync('git', ['--git-dir', gitdir, 'cat-file', '-t', r0.head]).toString().trim()).toBe('commit');
    execFileSync('git', ['--git-dir', gitdir, 'verify-tag', 'v1.0.0'], { env: { ...process.env, GNUPGHOME: keys.gpg.dir }, stdio: 'pipe' });
  });

  it('accepts 2 of 3 maintainers as two tags on the head, each with one signature', async () => {
    const r0 = repo([{ name: 'v2.0.0', signers: [alice] }, { name: 'v2.0.0-bob', signers: [bob] }]);
    const r = await fetchWith(r0.url, [alice, bob, carol], 2);
    expect(r.error).toBeUndefined();
    expect(r.src!.tag).toBe('v2.0.0');
    expect(r.src!.version).toBe('2.0.0');
    expect(r.src!.signers).toEqual([alice.fingerprint, bob.fingerprint].sort());
    expect(r.log).toContain('2 of 3 maintainers must sign');
    expect(r.log).toMatch(new RegExp(`tag v2\\.0\\.0-bob .*good signature by maintainer ${bob.fingerprint}`));
    expect(r.log).toMatch(/verdict: ACCEPTED v2\.0\.0 .*2 distinct maintainers signed \(2 required\)/);
  });

  it('accepts a signature made by a maintainer\'s signing subkey, counted for the primary fingerprint', async () => {
    const frank = keys.withSigningSubkey(keys.create('Frank'));
    expect(frank.subkey).not.toBe(frank.fingerprint);
    const r0 = repo([{ name: 'v3.0.0', signers: [frank] }]);
    const r = await fetchWith(r0.url, [frank], 1);
    expect(r.error).toBeUndefined();
    expect(r.src!.signers).toEqual([frank.fingerprint]);
    expect(r.log).toContain(`good signature by maintainer ${frank.fingerprint} "Frank <frank@example.invalid>" (key ${frank.subkey},`);
  });

  it('reports a bad tag beside enough good ones without refusing (as upstream)', async () => {
    const r0 = repo([{ name: 'v1.1.0', signers: [alice] }, { name: 'v1.1.0-m', signers: [mallory] }]);
    const r = await fetchWith(r0.url, [alice], 1);
    expect(r.error).toBeUndefined();
    expect(r.src!.tag).toBe('v1.1.0');
    expect(r.log).toMatch(new RegExp(`tag v1\\.1\\.0-m .*: INVALID: signed by key ${mallory.fingerprint}, not a maintainer`));
    expect(r.log).toMatch(/verdict: ACCEPTED v1\.1\.0 /);
  });

  it('refuses 2 of 3 when only one maintainer signed, and when one maintainer signed two tags', async () => {
    const one = repo([{ name: 'v2.1.0', signers: [alice] }]);
    expectRefused(await fetchWith(one.url, [alice, bob, carol], 2), /1 distinct maintainer signature, 2 required/);
    const twice = repo([{ name: 'v2.1.0', signers: [alice] }, { name: 'v2.1.0-again', signers: [alice] }]);
    const r = await fetchWith(twice.url, [alice, bob, carol], 2);
    expectRefused(r, /1 distinct maintainer signature, 2 required/);
    expect(r.log.match(/good signature by maintainer/g)).toHaveLength(2);
  });

  it('refuses an unsigned annotated tag', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [] }]);
    const r = await fetchWith(r0.url, [alice], 1);
    expectRefused(r, /v1\.0\.0: unsigned/);
    expect(r.log).toContain('tag v1.0.0 (tagger Fixture Author <author@example.invalid>');
  });

  it('refuses a tag signed by someone who is not a maintainer of the component', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [mallory] }]);
    // Mallory's key is even configured (a maintainer of another component): it still does not count here.
    const r = await fetchWith(r0.url, [alice], 1, { armored: keys.armored(alice, mallory) });
    expectRefused(r, new RegExp(`v1\\.0\\.0: signed by key ${mallory.fingerprint}, not a maintainer of this component`));
  });

  it('refuses a branch whose head has moved past the signed tag', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }], { commitAfterTags: true });
    expect(r0.head).not.toBe(r0.tagged);
    const r = await fetchWith(r0.url, [alice], 1);
    expectRefused(r, new RegExp(`no annotated v\\* tag points at the head ${r0.head.slice(0, 12)} of main \\(1 v\\* tag on other commits \\(v1\\.0\\.0\\)\\)`));
    expect(r.log).toContain('v* tags on other commits (not counted): v1.0.0');
  });

  it('refuses a head without any v* tag, and one with only a lightweight v* tag', async () => {
    const none = repo([{ name: 'release-1', signers: [alice] }]);
    expectRefused(await fetchWith(none.url, [alice], 1), /no annotated v\* tag points at the head [0-9a-f]{12} of main$/);
    const light = repo([{ name: 'v1.0.0', signers: [], lightweight: true }]);
    const r = await fetchWith(light.url, [alice], 1);
    expectRefused(r, /no annotated v\* tag .* \(v1\.0\.0 is a lightweight tag\)/);
    expect(r.log).toContain('tag v1.0.0 on the head is lightweight');
  });

  it('refuses a signed tag object replayed under another version name', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }]);
    const oid = execFileSync('git', ['-C', r0.bare, 'rev-parse', 'refs/tags/v1.0.0']).toString().trim();
    execFileSync('git', ['-C', r0.bare, 'update-ref', 'refs/tags/v2.0.0', oid]);
    execFileSync('git', ['-C', r0.bare, 'update-ref', '-d', 'refs/tags/v1.0.0']);
    const r = await fetchWith(r0.url, [alice], 1);
    expectRefused(r, /no annotated v\* tag points at the head .* \(v2\.0\.0: tag object names "v1\.0\.0" but is stored as v2\.0\.0\)/);
    expect(r.log).toContain('tag v2.0.0: malformed tag object: tag object names "v1.0.0" but is stored as v2.0.0');
  });

  it('refuses a tag whose embedded signature does not cover the tag (tampered message)', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice], tamper: true }]);
    const raw = execFileSync('git', ['-C', r0.bare, 'cat-file', 'tag', 'v1.0.0']).toString();
    expect(raw).toContain('changed after signing');
    // git itself calls it bad too.
    expect(() => execFileSync('git', ['-C', r0.bare, 'verify-tag', 'v1.0.0'], { env: { ...process.env, GNUPGHOME: keys.gpg.dir }, stdio: 'pipe' })).toThrow(/BAD signature/);
    expectRefused(await fetchWith(r0.url, [alice], 1), new RegExp(`v1\\.0\\.0: BAD signature by maintainer ${alice.fingerprint}: it does not cover this tag's bytes`));
  });

  it('refuses a tag with two signatures in one block, even by two maintainers', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice, bob] }]);
    expectRefused(await fetchWith(r0.url, [alice, bob], 1), /v1\.0\.0: 2 signatures in one block/);
  });

  it('refuses a signature by an expired maintainer key', async () => {
    const dave = keys.create('Dave', { expired: true });
    const r0 = repo([{ name: 'v1.0.0', signers: [dave] }]);
    expectRefused(await fetchWith(r0.url, [dave], 1), new RegExp(`v1\\.0\\.0: signed by maintainer ${dave.fingerprint} with a key that is expired since 2020-01-02`));
  });

  it('refuses a signature by a revoked maintainer key', async () => {
    const erin = keys.create('Erin');
    const r0 = repo([{ name: 'v1.0.0', signers: [erin] }]);
    const revoked = keys.revoke(erin);
    expectRefused(await fetchWith(r0.url, [revoked], 1), new RegExp(`v1\\.0\\.0: signed by maintainer ${erin.fingerprint} with a key that is revoked`));
  });

  it('refuses when a listed maintainer has no configured key, or the key block is garbage', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }]);
    expectRefused(await fetchWith(r0.url, [alice, bob], 1, { armored: keys.armored(alice) }), new RegExp(`maintainer ${bob.fingerprint} has no public key`));
    const garbage = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n';
    expectRefused(await fetchWith(r0.url, [alice], 1, { armored: garbage }), /maintainer key block 1 is unreadable/);
  });

  it('refuses an unreachable URL, a missing repository and a missing branch', async () => {
    const port = await freePort();
    expectRefused(await fetchWith(`http://127.0.0.1:${port}/app.git`, [alice], 1), new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/app\\.git: ECONNREFUSED`));
    expectRefused(await fetchWith(server.url('nope.git'), [alice], 1), /cannot fetch .*nope\.git: HTTP 404/);
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }]);
    expectRefused(await fetchWith(r0.url, [alice], 1, { branch: 'release4.2' }), /branch release4\.2 not found at /);
    expectRefused(await fetchWith(r0.url, [alice], 1, { branch: '../etc' }), /invalid branch name/);
    // isomorphic-git cannot fetch when the remote's HEAD is dangling: said plainly.
    execFileSync('git', ['-C', r0.bare, 'symbolic-ref', 'HEAD', 'refs/heads/gone']);
    expectRefused(await fetchWith(r0.url, [alice], 1), /its HEAD names no existing branch/);
    expectRefused(await fetchWith('file:///etc/app.git', [alice], 1), /only http: and https: are fetched/);
  });

  it('stays bounded: a pack over the size limit and a server that never answers are refused', async () => {
    const r0 = repo([{ name: 'v1.0.0', signers: [alice] }]);
    expectRefused(await fetchWith(r0.url, [alice], 1, { limits: { maxPackBytes: 200 } }), /exceeded the limit of 200 bytes/);
    const big = await fetchWith(r0.url, [alice], 1, { limits: { maxCheckoutBytes: 50 } });
    expect(big.error).toMatchObject({ code: 'source', message: 'the source tree exceeds the limit of 50 bytes' });
    expect(big.log).toMatch(/verdict: ACCEPTED v1\.0\.0 .*\nfetch: FAILED: the source tree exceeds the limit of 50 bytes\n$/);
    expectRefused(await fetchWith(r0.url, [alice], 1, { signal: AbortSignal.abort() }), /fetch aborted \(the build daemon is stopping\)/);
    const sockets = new Set<Socket>();
    let closedByClient = 0;
    // Reads (so it sees the client's FIN) but never answers.
    const silent = createServer((s) => { sockets.add(s); s.resume(); s.on('close', () => closedByClient++); });
    const port = await listenLoopback(silent);
    try {
      const started = Date.now();
      expectRefused(await fetchWith(`http://127.0.0.1:${port}/app.git`, [alice], 1, { limits: { timeoutMs: 500 } }), /timed out/);
      expect(Date.now() - started).toBeLessThan(5000);
      // The stalled connection is dropped by the fetch, not left open until the server gives up.
      await waitFor('the stalled connection to close', () => sockets.size > 0 && closedByClient === sockets.size, 2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
