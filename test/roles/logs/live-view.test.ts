import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLogPath, readText, startLogsSim, type LogsSim } from './logs-sim.js';
import { waitFor } from '../../helpers/wait.js';
import { httpRequest, type HttpReply } from '../../helpers/http.js';

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
});
