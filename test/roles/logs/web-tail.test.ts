import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CLOSE_TOO_MANY, CLOSE_TOO_SLOW, TAIL_LIMITS, TailHub } from '../../../src/roles/logs/daemon/web-tail.js';
import { tempDirs } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const tmp = tempDirs('qbuild-web-tail-');
const LOG = 'build-a/log_2026-01-02_03-04-05';
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A loopback server whose every upgrade is handed to `hub` for LOG. */
async function serve(hub: TailHub): Promise<string> {
  const wss = new WebSocketServer({ noServer: true });
  server = createServer();
  server.on('upgrade', (req, socket: Duplex, head) => wss.handleUpgrade(req, socket, head, (ws) => hub.start(ws, LOG)));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

function storeWith(bytes: number): string {
  const store = tmp();
  mkdirSync(join(store, 'build-a'));
  writeFileSync(join(store, ...LOG.split('/')), Buffer.alloc(bytes, '2026-01-02 03:04:05.000000 +0000 build-a: a line of the log\n'));
  return store;
}

describe('live tail viewers', () => {
  it('drops a viewer that reads nothing with close code 1008, having queued no more than its bound', async () => {
    const store = storeWith(0);
    // The viewer connects to a log that then grows by 48 MiB while the viewer reads nothing.
    const logs: string[] = [];
    const limits = { ...TAIL_LIMITS, stallMs: 500, graceMs: 10_000 };
    const hub = new TailHub(store, () => true, (m) => logs.push(m), limits);
    const ws = new WebSocket(await serve(hub));
    await new Promise((r) => ws.once('open', r));
    // ws has no pause API: stop reading at the socket, as a stuck browser tab would.
    const sock = (ws as unknown as { _socket: Duplex })._socket;
    sock.pause();
    writeFileSync(join(store, ...LOG.split('/')), Buffer.alloc(48 << 20, 'x'.repeat(99) + '\n'));
    const dropped = await waitFor('the viewer to be dropped', () => logs.find((m) => m.includes('dropped a viewer')), 30_000);
    expect(dropped).toMatch(/too slow \((\d+) bytes unread for 500 ms\)/);
    const unread = Number(/too slow \((\d+) bytes/.exec(dropped)![1]);
    expect(unread).toBeGreaterThanOrEqual(limits.maxBuffered);
    // Queued in the daemon: at most the bound plus one message (JSON adds at most 2x for "\n").
    expect(unread).toBeLessThanOrEqual(limits.maxBuffered + 2 * limits.chunk + 64);
    let received = 0;
    ws.on('message', (d: Buffer) => { received += d.length; });
    const code = new Promise<number>((r) => ws.once('close', (c) => r(c)));
    sock.resume();
    expect(await code).toBe(CLOSE_TOO_SLOW);
    // It got part of the log, never all of it: the rest stayed in the file, not in memory.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(48 << 20);
    await waitFor('the hub to let the viewer go', () => hub.size === 0);
  }, 60_000);

  it('serves at most maxClients viewers; the next is closed with 1013', async () => {
    const hub = new TailHub(storeWith(1000), () => false, () => {}, { ...TAIL_LIMITS, maxClients: 2 });
    const url = await serve(hub);
    const open = await Promise.all([0, 1].map(async () => {
      const ws = new WebSocket(url);
      const first = new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())));
      expect(JSON.parse(await first).text).toContain('a line of the log');
      return ws;
    }));
    const third = new WebSocket(url);
    expect(await new Promise<number>((r) => third.once('close', (c) => r(c)))).toBe(CLOSE_TOO_MANY);
    expect(hub.size).toBe(2);
    for (const ws of open) ws.close();
    await waitFor('the viewers to leave', () => hub.size === 0);
  });
});
