import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLogPath, readText, spoolNames, startLogsSim, type LogsSim } from './logs-sim.js';
import { waitFor } from '../../helpers/wait.js';
import { httpRequest, type HttpReply } from '../../helpers/http.js';
import { run } from '../../helpers/run.js';

const CHROMIUM = '/usr/bin/chromium';
let sim: LogsSim;
let browser: BrowserContext;
let profile: string;
let base: string;

beforeAll(async () => {
  sim = await startLogsSim();
  base = `http://${await waitFor('the live view', () => readText(join(sim.stateDir('logs'), 'http.addr')).trim())}`;
  profile = mkdtempSync(join(tmpdir(), 'qbuild-chromium-'));
  // A fresh profile directory (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sim?.down();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

function get(path: string, opts: { method?: string; host?: string } = {}): Promise<HttpReply> {
  const u = new URL(base);
  expect(u.hostname).toBe('127.0.0.1');
  return httpRequest(Number(u.port), path, { method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} });
}

describe('live view', () => {
  it('shows a running build in the list and a new line within 1 s of the build VM writing it', async () => {
    const child = sim.spawnCall('build-fedora', 'dom0', 'qubesbuilder.BuildLog');
    child.stdin.write('first line <b>not bold</b> <script>alert(1)</script>\n');
    const path = await openLogPath(sim);
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); void d.dismiss(); });

    await waitFor('the daemon to see the running log', async () => (await get('/')).body.includes('<td>running</td>'));
    await page.goto(`${base}/`);
    const row = page.locator('#builds tbody tr', { hasText: path });
    await expect(row.locator('td').nth(0).textContent()).resolves.toBe('build-fedora');
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe('running');

    await page.goto(`${base}/log?path=${encodeURIComponent(path)}`);
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('first line'), undefined, { timeout: 5000 });
    expect(await page.locator('#log b').count()).toBe(0);
    expect(await page.locator('#log').textContent()).toContain('<b>not bold</b> <script>alert(1)</script>');

    const marker = `live line ${Date.now()}`;
    const t0 = Date.now();
    child.stdin.write(`${marker}\n`);
    await page.waitForFunction((m) => document.getElementById('log')?.textContent?.includes(m), marker, { timeout: 1000 });
    const shownAfter = Date.now() - t0;
    expect(shownAfter).toBeLessThan(1000);

    child.stdin.end('qbuild-log-end\n');
    await new Promise((r) => child.on('close', r));
    await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('> closing log'), undefined, { timeout: 5000 });
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'finished', undefined, { timeout: 5000 });
    expect(dialogs).toEqual([]);
    await page.close();
  }, 60_000);

  it('is read-only, answers only its own host names, and names nothing outside the store', async () => {
    expect((await get('/', { method: 'POST' })).status).toBe(405);
    expect((await get('/', { host: 'evil.example:80' })).status).toBe(421);
    const root = await get('/');
    expect(root.status).toBe(200);
    expect(String(root.headers['content-security-policy'])).toContain("default-src 'none'");
    for (const p of ['../note.key', 'build-fedora/../../note.key', '/etc/passwd', 'build-fedora/log_x', '.git/config',
      'build-fedora%2F..%2F..%2Fnote.key', 'build-fedora/log_2020-01-01_00-00-00']) {
      for (const ep of ['/raw?path=', '/log?path=']) {
        const r = await get(`${ep}${encodeURIComponent(p)}`);
        expect(r.status, `${ep}${p}`).toBe(404);
        expect(r.body).not.toContain('PRIVATE');
      }
    }
  });

  it('refuses a symlink in the store, even one to a file inside it (finding J)', async () => {
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\nqbuild-log-end\n' });
    const path = r.stdout.toString().trim();
    const dir = path.slice(0, path.lastIndexOf('/'));
    symlinkSync('../.git/config', join(sim.store, dir, 'log_2001-01-01_00-00-00'));
    symlinkSync(path.slice(path.lastIndexOf('/') + 1), join(sim.store, dir, 'log_2001-01-01_00-00-01'));
    expect((await get(`/raw?path=${encodeURIComponent(path)}`)).body).toContain('build-fedora: x\n');
    for (const link of ['log_2001-01-01_00-00-00', 'log_2001-01-01_00-00-01']) {
      for (const ep of ['/raw?path=', '/log?path=']) {
        const res = await get(`${ep}${encodeURIComponent(`${dir}/${link}`)}`);
        expect(res.status, `${ep}${link}`).toBe(404);
        expect(res.body).not.toContain('[core]');
      }
      expect(await upgrade(`${dir}/${link}`)).toMatch(/^HTTP\/1\.1 404 /);
    }
  });

  it('bounds viewers: 100 that read nothing while 60 MB streams cost the daemon little memory, and it keeps publishing (finding B)', async () => {
    const daemon = sim.daemonPid();
    const before = spoolNames(sim);
    const child = sim.spawnCall('build-fedora', 'dom0', 'qubesbuilder.BuildLog');
    child.stdin.write('the start\n');
    const path = await openLogPath(sim, before);
    await waitFor('the daemon to see the running log', async () => (await get('/')).body.includes(`${path}</a>`));
    const baseline = rssMiB(daemon);
    let peak = baseline;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(daemon)); }, 50);
    const viewers = await Promise.all(Array.from({ length: 100 }, () => stuckViewer(path)));
    const accepted = viewers.filter((v) => v.status.startsWith('HTTP/1.1 101 '));
    expect(accepted).toHaveLength(64);
    expect(viewers.filter((v) => v.status.startsWith('HTTP/1.1 503 '))).toHaveLength(36);

    const line = `${'x'.repeat(99)}\n`;
    const block = line.repeat(10_000);
    for (let sent = 0; sent < 60e6; sent += block.length) {
      if (!child.stdin.write(block)) await new Promise((r) => child.stdin.once('drain', r));
    }
    const h = 'a5'.repeat(32);
    child.stdin.end(`qbuild-sign sha256:${h} big.log\nqbuild-log-end\n`);
    await new Promise((r) => child.on('close', r));
    // Published and ticketed while every viewer still hangs on.
    const done = await waitFor('the log to be published', () => sim.published().find((p) => p.path === path), 60_000);
    expect(done.complete).toBe(true);
    const received = join(sim.stateDir('keys-fedora'), 'tickets', 'build-fedora', 'received');
    await waitFor('the ticket at keys-fedora', () => existsSync(received) &&
      readdirSync(received).some((n) => readFileSync(join(received, n), 'utf8').includes(path)), 30_000);
    clearInterval(sampler);
    // Before the fix: 69 → 921 MiB. Now each viewer holds at most 256 KiB plus one message
    // (measured 2026-12-01: +83 MiB, most of it garbage of the messages and the 60 MB commit).
    expect(peak - baseline, `RSS ${baseline} → ${peak} MiB`).toBeLessThan(150);
    expect(sim.daemonPid()).toBe(daemon);
    // Viewers that read nothing are dropped once their queue stayed full for 10 s.
    const log = join(sim.qubeDir('logs'), 'daemons.log');
    await waitFor('the stuck viewers to be dropped', () => (readText(log).match(/dropped a viewer of /g) ?? []).length >= 64, 40_000);
    for (const v of viewers) v.socket.destroy();
  }, 120_000);

  it('answers every viewer when out of descriptors, and keeps publishing (finding B, EMFILE)', async () => {
    const daemon = sim.daemonPid();
    const r = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'x\nqbuild-log-end\n' });
    const path = r.stdout.toString().trim();
    const open = readdirSync(`/proc/${daemon}/fd`).length;
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${daemon}/limits`, 'utf8'))![1]!;
    // Only the soft limit: putting it back needs no privilege.
    expect((await run('prlimit', ['--pid', String(daemon), `--nofile=${open + 6}:`])).code).toBe(0);
    const held: Socket[] = [];
    try {
      // More connections than descriptors: accept() fails with EMFILE for some, viewers that
      // got in cannot open the log; the daemon answers or drops each, and does not die.
      const viewers = await Promise.all(Array.from({ length: 12 }, () => stuckViewer(path, 3000)));
      held.push(...viewers.map((v) => v.socket));
      const raw = await Promise.all(Array.from({ length: 4 }, () => get(`/raw?path=${encodeURIComponent(path)}`).catch(() => undefined)));
      expect(raw.every((x) => x === undefined || x.status === 503 || x.status === 200)).toBe(true);
      expect(sim.daemonPid()).toBe(daemon);
    } finally {
      for (const s of held) s.destroy();
      await run('prlimit', ['--pid', String(daemon), `--nofile=${soft}:`]);
    }
    const log = readText(join(sim.qubeDir('logs'), 'daemons.log'));
    expect(log).toMatch(/live view: .*(EMFILE|cannot open the log)/);
    expect(log).not.toMatch(/^\s+at /m);
    const next = await sim.call('build-fedora', 'dom0', 'qubesbuilder.BuildLog', { stdin: 'after\nqbuild-log-end\n' });
    const nextPath = next.stdout.toString().trim();
    expect(await waitFor('the next log to be published', () => sim.published().find((p) => p.path === nextPath), 30_000)).toBeTruthy();
    expect(sim.daemonPid()).toBe(daemon);
  }, 60_000);
});

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** The status line the live view answers a WebSocket upgrade for `path` with. */
async function upgrade(path: string): Promise<string> {
  const v = await stuckViewer(path);
  v.socket.destroy();
  return v.status;
}

/**
 * A viewer that completes the WebSocket handshake (if allowed) and then reads nothing, as a
 * stuck browser tab: its socket is paused after the status line. `status` is '' when the
 * connection ended before one (accept refused for lack of descriptors).
 */
function stuckViewer(path: string, timeoutMs = 10_000): Promise<{ status: string; socket: Socket }> {
  const u = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(u.port), '127.0.0.1');
    const done = (status: string): void => { clearTimeout(t); resolve({ status, socket }); };
    const t = setTimeout(() => done(''), timeoutMs);
    socket.on('error', () => done(''));
    socket.on('close', () => done(''));
    socket.once('data', (b: Buffer) => {
      socket.pause();
      done(b.toString('latin1').split('\r\n')[0]!);
    });
    socket.write(`GET /ws?path=${encodeURIComponent(path)} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
}
