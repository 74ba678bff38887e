import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAbandoned, manifestFromLog } from '../../../src/roles/logs/daemon/recover.js';
import { TAIL_JS, escapeHtml, listPage, logPage } from '../../../src/roles/logs/daemon/web-pages.js';
import { parseLogsSettings } from '../../../src/roles/logs/settings.js';
import { closeQuietly, createLogFile, openLogForReading, resolveLogPath } from '../../../src/roles/logs/store.js';
import { QbuildError } from '../../../src/errors.js';
import { listSpool } from '../../../src/roles/logs/spool.js';

const tmp = mkdtempSync(join(tmpdir(), 'qbuild-logs-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const T = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000;

describe('logs settings', () => {
  it('fills defaults from the state dir', () => {
    const s = parseLogsSettings('logs', '/st', { buildVms: ['build-a'], keysVmFor: { 'build-a': 'keys-a' }, remote: null });
    expect(s.store).toBe('/st/store');
    expect(s.listen).toEqual({ host: '127.0.0.1', port: 8420 });
    expect(s.maxLineBytes).toBe(65536);
    expect(s.noteKeyName).toBe('qbuild-logs/logs');
  });
  it('refuses unknown keys and bad values', () => {
    expect(() => parseLogsSettings('logs', '/st', { maxLineBytes: 'big' })).toThrow(/maxLineBytes/);
    expect(() => parseLogsSettings('logs', '/st', { maxlinebytes: 10 })).toThrow(/unknown key/);
    expect(() => parseLogsSettings('logs', '/st', { listen: 'localhost' })).toThrow('qbuild.json: logs.listen: "localhost" is not IPv4:PORT');
    expect(parseLogsSettings('logs', '/st', { listen: '[::1]:0' }).listen).toEqual({ host: '::1', port: 0 });
    expect(() => parseLogsSettings('logs', '/st', { remote: { url: 'git@github.com:x/y' } })).toThrow(/http/);
  });
});

describe('log store paths', () => {
  const store = join(tmp, 'store');
  it('creates log files exclusively with .N on collision, skipping names whose .xz exists', () => {
    const a = createLogFile(store, 'build-a', '', T);
    const b = createLogFile(store, 'build-a', '', T);
    writeFileSync(join(store, 'build-a', 'log_2026-01-02_03-04-05.2.xz'), '');
    const c = createLogFile(store, 'build-a', 'sub', T);
    const d = createLogFile(store, 'build-a', '', T);
    for (const x of [a, b, c, d]) closeQuietly(x.fd);
    expect([a.path, b.path, c.path, d.path]).toEqual([
      'build-a/log_2026-01-02_03-04-05', 'build-a/log_2026-01-02_03-04-05.1',
      'build-a/sub/log_2026-01-02_03-04-05', 'build-a/log_2026-01-02_03-04-05.3',
    ]);
  });
  it('refuses a sub-directory argument that names an existing file, with one line (exit 2)', () => {
    const a = createLogFile(store, 'build-g', '', T);
    closeQuietly(a.fd);
    const e = (() => { try { createLogFile(store, 'build-g', 'log_2026-01-02_03-04-05', T); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(QbuildError);
    expect((e as QbuildError).exitCode).toBe(2);
    expect((e as QbuildError).message).toBe('cannot store logs under build-g/log_2026-01-02_03-04-05: log_2026-01-02_03-04-05 is already a file in the log store');
  });

  it('refuses symlinks, even to a log or to a file inside the store', () => {
    const s2 = join(tmp, 'store-links');
    const a = createLogFile(s2, 'build-a', '', T);
    closeQuietly(a.fd);
    mkdirSync(join(s2, '.git'), { recursive: true });
    writeFileSync(join(s2, '.git', 'config'), '[core]\n');
    symlinkSync('../.git/config', join(s2, 'build-a', 'log_2026-01-02_03-04-06'));
    symlinkSync('log_2026-01-02_03-04-05', join(s2, 'build-a', 'log_2026-01-02_03-04-07'));
    symlinkSync('build-a', join(s2, 'build-b'));
    expect(resolveLogPath(s2, 'build-a/log_2026-01-02_03-04-05')).toBe(join(s2, 'build-a', 'log_2026-01-02_03-04-05'));
    closeQuietly(openLogForReading(s2, 'build-a/log_2026-01-02_03-04-05'));
    for (const p of ['build-a/log_2026-01-02_03-04-06', 'build-a/log_2026-01-02_03-04-07', 'build-b/log_2026-01-02_03-04-05', '.git/log_2026-01-02_03-04-05']) {
      expect(() => resolveLogPath(s2, p), p).toThrow(QbuildError);
      expect(() => openLogForReading(s2, p), p).toThrow(QbuildError);
    }
  });

  it('resolves only log files inside the store', () => {
    expect(resolveLogPath(store, 'build-a/log_2026-01-02_03-04-05')).toBe(join(store, 'build-a', 'log_2026-01-02_03-04-05'));
    writeFileSync(join(tmp, 'secret'), 'x');
    mkdirSync(join(store, 'evil'), { recursive: true });
    symlinkSync(join(tmp, 'secret'), join(store, 'evil', 'log_2026-01-02_03-04-05'));
    for (const p of ['../secret', 'build-a/../../secret', '/etc/passwd', 'evil/log_2026-01-02_03-04-05', 'build-a', '.git/HEAD', 'build-a/log_2026-01-02_03-04-05/', '']) {
      expect(() => resolveLogPath(store, p), p).toThrow();
    }
  });
});

describe('closing an abandoned log', () => {
  it('completes a torn line, marks it incomplete, closes it, and recovers the manifest', async () => {
    const state = join(tmp, 'state');
    const store = join(tmp, 'store2');
    const h = 'ab'.repeat(32);
    mkdirSync(join(store, 'build-a'), { recursive: true });
    writeFileSync(join(store, 'build-a', 'log_2026-01-02_03-04-05'),
      `2026-01-02 03:04:05.000000 +0000 > starting log\n2026-01-02 03:04:05.000001 +0000 build-a: qbuild-sign sha256:${h} x.rpm\n2026-01-02 03:04:05.000002 +0000 build-a: torn li`);
    const rec = await closeAbandoned(state, store, { path: 'build-a/log_2026-01-02_03-04-05', vm: 'build-a', startMicros: T, pid: 1, pidStart: '' });
    const text = readFileSync(join(store, 'build-a', 'log_2026-01-02_03-04-05'), 'latin1');
    expect(text).toMatch(/build-a: torn li\n\S+ \S+ \+0000 > cut: the line above had no newline when the logs service stopped\n\S+ \S+ \+0000 > incomplete: the logs service stopped before the stream ended\n\S+ \S+ \+0000 > closing log\n$/);
    expect(rec.complete).toBe(false);
    expect(rec.storedBytes).toBe(Buffer.byteLength(text));
    expect(rec.manifest).toEqual([{ form: 'binary', sha256: h, label: 'x.rpm' }]);
    // Run again (a crash after the file was closed, before the spool said so): nothing appended.
    await closeAbandoned(state, store, { path: 'build-a/log_2026-01-02_03-04-05', vm: 'build-a', startMicros: T, pid: 1, pidStart: '' });
    expect(readFileSync(join(store, 'build-a', 'log_2026-01-02_03-04-05'), 'latin1')).toBe(text);
    expect(listSpool(state).map((e) => e.st)).toEqual(['done']);
    expect(await manifestFromLog(join(store, 'build-a', 'log_2026-01-02_03-04-05'), 'build-b')).toEqual([]);
  });
});

describe('recovery after a crash', () => {
  const t = '2026-01-02 03:04:05.000001';
  const rec = (path: string) => ({ path, vm: 'build-a', startMicros: T, pid: 1, pidStart: '' });

  it('drops a torn tail of its own bytes, marks the line above cut, and names the stop reason', async () => {
    const state = join(tmp, 'state-torn');
    const store = join(tmp, 'store-torn');
    const h = 'cd'.repeat(32);
    mkdirSync(join(store, 'build-a'), { recursive: true });
    const cases: [string, string][] = [
      ['log_2026-01-02_03-04-05', `${t} +0000 build-a: whole\n2026-01-02 03:0`],
      ['log_2026-01-02_03-04-06', `${t} +0000 build-a: qbuild-sign sha256:${h} piece\n${t} +0000 > cu`],
    ];
    for (const [name, body] of cases) {
      writeFileSync(join(store, 'build-a', name), body);
      const done = await closeAbandoned(state, store, rec(`build-a/${name}`), 'disk full (ENOSPC) while storing the log');
      const text = readFileSync(join(store, 'build-a', name), 'latin1');
      const kept = body.slice(0, body.lastIndexOf('\n') + 1);
      expect(text.startsWith(kept)).toBe(true);
      expect(text.slice(kept.length)).toMatch(/^\S+ \S+ \+0000 > cut: the line above had no newline when the logs service stopped\n\S+ \S+ \+0000 > incomplete: the logs service stopped before the stream ended: disk full \(ENOSPC\) while storing the log\n\S+ \S+ \+0000 > closing log\n$/);
      // A cut marker that may have been torn grants nothing: less than live, never more.
      expect(done.manifest).toEqual([]);
    }
  });

  it('recovers exactly the manifest the live service had collected, wherever it was killed (seeded)', async () => {
    const { LineEncoder } = await import('../../../src/protocol/buildlog/encoder.js');
    const { xorshift32 } = await import('../../helpers/random.js');
    const rnd = xorshift32(77);
    const state = join(tmp, 'state-prop');
    const store = join(tmp, 'store-prop');
    mkdirSync(join(store, 'build-a'), { recursive: true });
    const hex = () => Array.from({ length: 64 }, () => '0123456789abcdef'[rnd(16)]).join('');
    let granted = 0;
    for (let round = 0; round < 60; round++) {
      const max = 80 + rnd(200);
      const lines = Array.from({ length: 1 + rnd(30) }, (_, i) => {
        const m = `qbuild-sign sha256:${hex()} f${i}`;
        return [m, 'q'.repeat(max) + m, `x${m}`, 'y'.repeat(rnd(3 * max))][rnd(4)]!;
      });
      const input = Buffer.from(lines.join('\n'), 'latin1');
      const killAt = rnd(input.length + 1);
      const enc = new LineEncoder({ vm: 'build-a', maxLineBytes: max, maxLogBytes: 1 << 30 });
      const out: Buffer[] = [];
      for (let p = 0; p < killAt;) {
        const n = Math.min(1 + rnd(200), killAt - p);
        enc.push(input.subarray(p, p + n), T);
        out.push(Buffer.from(enc.take()));
        p += n;
      }
      const name = `log_2026-01-02_03-05-${String(round).padStart(2, '0')}`;
      writeFileSync(join(store, 'build-a', name), Buffer.concat(out));
      const done = await closeAbandoned(state, store, rec(`build-a/${name}`));
      expect(done.manifest, `round ${round}`).toEqual(enc.manifest.entries);
      expect(readFileSync(join(store, 'build-a', name)).subarray(0, Buffer.concat(out).length).equals(Buffer.concat(out))).toBe(true);
      granted += done.manifest!.length;
    }
    expect(granted).toBeGreaterThan(30);
  });
});

describe('live view pages', () => {
  it('escapes everything it shows', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&\``)).toBe('&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;');
    const html = listPage('logs<x>', [{ path: 'build-a/log_<b>', vm: 'build-a"', start: '2026', state: 'running', size: 2048 }]);
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('build-a"');
    expect(html).toContain('2.0 KiB');
    expect(logPage('a/"><script>')).not.toContain('"><script>');
    // The tail client parses (a browser runs it in the live-view test).
    expect(() => new Function(TAIL_JS)).not.toThrow();
  });
});

describe('streaming git blobs', () => {
  it('writes loose objects git itself reads, with the same oid as git hash-object', async () => {
    const { writeBlobFromFile } = await import('../../../src/roles/logs/daemon/blob.js');
    const { run } = await import('../../helpers/run.js');
    const { createHash } = await import('node:crypto');
    const repo = join(tmp, 'repo');
    expect((await run('git', ['init', '-q', repo])).code).toBe(0);
    for (const [name, bytes] of [['empty', Buffer.alloc(0)], ['big', Buffer.alloc(3 << 20, 'log line\n')]] as const) {
      const file = join(tmp, name);
      writeFileSync(file, bytes);
      const b = await writeBlobFromFile(join(repo, '.git'), file);
      expect(b.oid).toBe((await run('git', ['hash-object', file])).stdout.toString().trim());
      expect(b.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(b.size).toBe(bytes.length);
      const cat = await run('git', ['-C', repo, 'cat-file', 'blob', b.oid]);
      expect(cat.code).toBe(0);
      expect(cat.stdout.equals(bytes)).toBe(true);
    }
  });
});
