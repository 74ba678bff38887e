import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/protocol/github/signature.js';
import { parseSysnetConfig, type SysnetConfig } from '../../../src/roles/sysnet/config.js';
import { SYSNET_STATE, startDaemon, type Daemon } from '../../../src/roles/sysnet/serve.js';
import { githubExample } from '../../protocol/github/fixtures.js';
import { FakeTransport } from './fake-transport.js';
import { waitFor } from '../../helpers/wait.js';
import { httpRequest, type HttpReply } from '../../helpers/http.js';

const SECRET = 'test-secret-0123456789abcdef';
let dir: string;
let daemon: Daemon | undefined;
let transport: FakeTransport;
const logs: string[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qbuild-sysnet-'));
  writeFileSync(join(dir, 'secret'), `${SECRET}\n`, { mode: 0o600 });
  transport = new FakeTransport();
  logs.length = 0;
});
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}): SysnetConfig {
  return parseSysnetConfig({
    vm: 'sys-net', role: 'sysnet',
    sysnet: { buildVms: ['build-a', 'build-b'], listen: '127.0.0.1:0', secretFile: join(dir, 'secret'), retryBaseMs: 20, retryMaxMs: 100, ...extra },
  }, { QBUILD_STATE: join(dir, 'state') });
}

async function start(extra: Record<string, unknown> = {}): Promise<Daemon> {
  daemon = await startDaemon({ config: config(extra), state: join(dir, 'state'), transport, log: (l) => logs.push(l) });
  return daemon;
}

let guid = 0;
function post(path: string, body: string | Buffer, headers: Record<string, string | undefined> = {}): Promise<HttpReply> {
  const d = daemon!;
  const h: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': `guid-${process.pid}-${++guid}`,
    'x-hub-signature-256': signBody(SECRET, body),
  };
  for (const [k, v] of Object.entries(headers)) { if (v === undefined) delete h[k]; else h[k] = v; }
  return httpRequest(d.address.port, path, { method: 'POST', headers: h, body });
}

const TRIGGER = '/github-hooks/trigger-build';
const COMMENT = '/github-hooks/process-comment';
const push = JSON.stringify(githubExample('push'));

describe('sys-net webhook listener', () => {
  it('refuses to start without a secret', async () => {
    rmSync(join(dir, 'secret'));
    await expect(start()).rejects.toThrow(/no webhook secret/);
    writeFileSync(join(dir, 'secret'), 'short\n');
    await expect(start()).rejects.toThrow(/shorter than 16/);
  });

  it('queues a signed push and forwards TriggerBuild to every build VM', async () => {
    await start();
    const r = await post(TRIGGER, push);
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ message: 'queued', job: 1 });
    await waitFor('two deliveries', () => transport.delivered.length === 2);
    expect(transport.delivered.map((d) => [d.target, d.service, d.argument, d.stdin]).sort()).toEqual([
      ['build-a', 'qubesbuilder.TriggerBuild', 'Hello-World', ''],
      ['build-b', 'qubesbuilder.TriggerBuild', 'Hello-World', ''],
    ]);
    expect(readFileSync(join(dir, 'state', SYSNET_STATE.listening), 'utf8')).toBe(`127.0.0.1:${daemon!.address.port}\n`);
  });

  it('group commit: concurrent deliveries share disk writes, and each is on disk before its 202', async () => {
    transport.answer = () => 125; // build VMs off: jobs stay queued
    await start({ retryBaseMs: 60_000, retryMaxMs: 60_000 });
    // Complete lines only: the daemon may be writing the next group while a reply is read.
    const journalGuids = (): Set<string> => new Set(readFileSync(join(dir, 'state', SYSNET_STATE.journal), 'utf8')
      .split('\n').slice(0, -1).filter(Boolean).map((l) => (JSON.parse(l) as { d?: string }).d!));
    const n = 100;
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => {
      const delivery = `burst-${process.pid}-${i}`;
      return post(TRIGGER, push, { 'x-github-delivery': delivery }).then((r) => ({ ...r, delivery, onDisk: journalGuids().has(delivery) }));
    }));
    expect(replies.map((r) => r.status)).toEqual(Array(n).fill(202));
    expect(replies.every((r) => r.onDisk)).toBe(true);
    expect(new Set(replies.map((r) => JSON.parse(r.body).job)).size).toBe(n);
    const { depth, commits } = daemon!.stats();
    expect(depth).toBe(n);
    expect(commits).toBeLessThan(n);
  });

  it('answers each kind of bad request with its own status and forwards nothing', async () => {
    await start({ maxBodyBytes: 65536 });
    expect((await post(TRIGGER, push, { 'x-hub-signature-256': undefined })).status).toBe(401);
    expect((await post(TRIGGER, push, { 'x-hub-signature-256': signBody('wrong-secret-xxxxxxxx', push) })).status).toBe(401);
    const ct = await post(TRIGGER, push, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(ct.status).toBe(415);
    expect(JSON.parse(ct.body).message).toMatch(/application\/json/);
    expect((await post(TRIGGER, Buffer.alloc(65537, 0x20))).status).toBe(413);
    expect((await post(TRIGGER, '{"not json')).status).toBe(400);
    expect((await post(TRIGGER, push, { 'x-github-event': undefined })).status).toBe(400);
    expect((await post(TRIGGER, push, { 'x-github-delivery': undefined })).status).toBe(400);
    expect((await post('/other', push)).status).toBe(404);
    expect((await post(TRIGGER, push, { 'x-github-event': 'star' })).status).toBe(202);
    const ping = await post(TRIGGER, JSON.stringify(githubExample('ping')), { 'x-github-event': 'ping' });
    expect([ping.status, JSON.parse(ping.body).message]).toEqual([200, 'pong']);
    expect((await post(COMMENT, JSON.stringify(githubExample('issue_comment', 'created')), { 'x-github-event': 'issue_comment' })).status).toBe(202);
    expect(transport.calls).toEqual([]);
  });

  it('answers 400 with a one-line reason to a signed body that is JSON but not an object, ping included', async () => {
    await start();
    for (const [body, kind] of [['[1,2]', 'array'], ['"x"', 'string'], ['null', 'null'], ['42', 'number']]) {
      for (const [path, event] of [[TRIGGER, 'ping'], [TRIGGER, 'push'], [COMMENT, 'issue_comment'], [COMMENT, 'ping']]) {
        const r = await post(path!, body!, { 'x-github-event': event });
        expect([r.status, JSON.parse(r.body).message]).toEqual([400, `body must be a JSON object, not ${kind}`]);
      }
    }
    expect(transport.calls).toEqual([]);
  });

  it('refuses a chunked body over the cap without a Content-Length', async () => {
    await start({ maxBodyBytes: 4096 });
    const r = await new Promise<string>((resolve) => {
      const s = connect(daemon!.address.port, '127.0.0.1', () => {
        s.write(`POST ${TRIGGER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
        s.write(`2000\r\n${'x'.repeat(0x2000)}\r\n`);
      });
      let got = '';
      s.on('data', (b) => { got += b.toString(); });
      s.on('close', () => resolve(got));
    });
    expect(r).toMatch(/^HTTP\/1\.1 413/);
  });

  it('de-duplicates a redelivered GUID, also after a restart', async () => {
    await start();
    const headers = { 'x-github-delivery': 'redelivered-guid' };
    expect((await post(TRIGGER, push, headers)).status).toBe(202);
    expect((await post(TRIGGER, push, headers)).status).toBe(200);
    await waitFor('two deliveries', () => transport.delivered.length === 2);
    await daemon!.stop();
    await start();
    const again = await post(TRIGGER, push, headers);
    expect([again.status, JSON.parse(again.body).message]).toEqual([200, 'duplicate delivery: already queued or forwarded']);
    // A fresh job behind the duplicate (another repository): each VM forwards in accept order,
    // so once the fresh job reached both VMs a re-queued duplicate would have been forwarded too.
    const fresh = githubExample('push') as { repository: { name: string; full_name: string } };
    fresh.repository.name = 'Fresh-Repo';
    fresh.repository.full_name = 'Codertocat/Fresh-Repo';
    expect((await post(TRIGGER, JSON.stringify(fresh))).status).toBe(202);
    await waitFor('the fresh job at both VMs', () => transport.delivered.filter((d) => d.argument === 'Fresh-Repo').length === 2);
    expect(transport.calls.map((d) => d.argument).sort()).toEqual(['Fresh-Repo', 'Fresh-Repo', 'Hello-World', 'Hello-World']);
  });

  it('answers 503 when the queue is full and build VMs are off; delivers once they come back', async () => {
    let off = true;
    transport.answer = () => (off ? 125 : 0);
    await start({ queueMax: 2 });
    expect((await post(TRIGGER, push)).status).toBe(202);
    expect((await post(TRIGGER, push)).status).toBe(202);
    const full = await post(TRIGGER, push);
    expect([full.status, full.headers['retry-after']]).toEqual([503, '60']);
    await waitFor('retries', () => transport.calls.length >= 4);
    off = false;
    await waitFor('delivery after the VMs came back', () => transport.delivered.length === 4);
    expect(logs.some((l) => /failed \(exit 125\); retry/.test(l))).toBe(true);
    expect((await post(TRIGGER, push)).status).toBe(202);
  });

  it('keeps going for one VM while another is off, and treats 126 as final', async () => {
    transport.answer = (req) => (req.target === 'build-a' ? 126 : 0);
    await start();
    for (let i = 0; i < 3; i++) expect((await post(TRIGGER, push)).status).toBe(202);
    await waitFor('three policy refusals logged', () => logs.filter((l) => /refused by qrexec policy for build-a/.test(l)).length === 3);
    await waitFor('three deliveries', () => transport.delivered.length === 3);
    expect(transport.delivered.map((d) => d.target)).toEqual(['build-b', 'build-b', 'build-b']);
    expect(transport.calls).toHaveLength(6);
  });

  it('forwards the clearsigned block of a created comment as ProcessGithubCommand stdin', async () => {
    await start();
    const block = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nBuild-iso r4.2 4.2.1 202401011200\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n';
    const c = githubExample('issue_comment', 'created');
    (c.comment as Record<string, unknown>).body = `please:  \r\n${block.replace(/\n/g, '  \r\n')}`;
    expect((await post(COMMENT, JSON.stringify(c), { 'x-github-event': 'issue_comment' })).status).toBe(202);
    await waitFor('two deliveries', () => transport.delivered.length === 2);
    expect(transport.delivered.map((d) => [d.service, d.argument, d.stdin])).toEqual([
      ['qubesbuilder.ProcessGithubCommand', undefined, block], ['qubesbuilder.ProcessGithubCommand', undefined, block],
    ]);
  });

  it('closes a connection that sends its headers too slowly', async () => {
    await start({ headersTimeoutMs: 200, requestTimeoutMs: 300 });
    const got = await new Promise<string>((resolve) => {
      const s = connect(daemon!.address.port, '127.0.0.1', () => s.write(`POST ${TRIGGER} HTTP/1.1\r\nHost: x\r\n`));
      let text = '';
      s.on('data', (b) => { text += b.toString(); });
      s.on('close', () => resolve(text));
    });
    expect(got).toMatch(/^HTTP\/1\.1 408/);
  });
});
