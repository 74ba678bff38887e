import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleConnectSSH } from '../../../src/roles/sysnet/connect-ssh-service.js';
import { listenLoopback } from '../../helpers/net.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qbuild-ssh-');
let dir: string;
let server: Server | undefined;
beforeEach(() => { dir = tmp(); });
afterEach(async () => {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = undefined;
});

async function listen(onConn: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer({ allowHalfOpen: true }, onConn);
  return listenLoopback(server);
}

function connectSsh(host: string | undefined, port: number, stdin: PassThrough): { done: Promise<number>; out: () => string } {
  writeFileSync(join(dir, 'qbuild.json'), JSON.stringify({ vm: 'sys-net', role: 'sysnet', sysnet: { buildVms: [], sshHosts: ['localhost'], sshPort: port } }));
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const done = handleConnectSSH(
    { remoteDomain: 'build-fedora', service: 'local.ConnectSSH', argument: host, requestedTarget: 'sys-net' },
    { stdin, stdout, stderr: new PassThrough(), env: { QBUILD_CONFIG: join(dir, 'qbuild.json'), QBUILD_STATE: join(dir, 'state') } },
  );
  return { done, out: () => out };
}

describe('local.ConnectSSH', () => {
  it('ends when the server closes first (an ssh server hanging up), with the caller still connected', async () => {
    const port = await listen((s) => s.end('SSH-2.0-fake\r\n'));
    const stdin = new PassThrough();
    const c = connectSsh('localhost', port, stdin);
    expect(await c.done).toBe(0);
    expect(c.out()).toBe('SSH-2.0-fake\r\n');
  });

  it('half-closes toward the server when the caller ends, and still relays the reply', async () => {
    const port = await listen((s) => {
      let got = '';
      s.on('data', (b) => { got += b.toString(); });
      s.on('end', () => s.end(`you said ${got.length} bytes`));
    });
    const stdin = new PassThrough();
    const c = connectSsh('localhost', port, stdin);
    stdin.end('hello');
    expect(await c.done).toBe(0);
    expect(c.out()).toBe('you said 5 bytes');
  });

  it('refuses hosts not on the allowlist and a missing host', async () => {
    await expect(connectSsh('github.com', 1, new PassThrough()).done).rejects.toMatchObject({ code: 'refused' });
    await expect(connectSsh(undefined, 1, new PassThrough()).done).rejects.toMatchObject({ code: 'refused' });
  });

  it('fails with an io error when nothing listens', async () => {
    const port = await listen(() => {});
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    await expect(connectSsh('localhost', port, new PassThrough()).done).rejects.toMatchObject({ code: 'io' });
  });
});
