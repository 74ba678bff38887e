import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/protocol/github/signature.js';
import { parseSysnetConfig } from '../../../src/roles/sysnet/config.js';
import { renderNginxSnippet } from '../../../src/salt/sysnet/nginx.js';
import { renderRcLocal } from '../../../src/salt/sysnet/rc-local.js';
import { renderSystemdUnit } from '../../../src/salt/sysnet/systemd.js';
import { startDaemon, type Daemon } from '../../../src/roles/sysnet/serve.js';
import { githubExample } from '../../protocol/github/fixtures.js';
import { FakeTransport } from './fake-transport.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../../helpers/net.js';
import { httpRequest } from '../../helpers/http.js';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const SECRET = 'deploy-test-secret-0123456789';

describe('start-up files', () => {
  it('systemd unit runs the listener as the user, restarts it, and confines writes to the state dir', () => {
    const unit = renderSystemdUnit();
    expect(unit).toContain('ExecStart=/usr/local/bin/qbuild role sysnet --serve\n');
    expect(unit).toContain('User=user\n');
    expect(unit).toContain('Restart=on-failure\n');
    expect(unit).toContain('ReadWritePaths=/home/user/qbuild\n');
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const d = mkdtempSync(join(tmpdir(), 'qbuild-unit-'));
      writeFileSync(join(d, 'qbuild-webhooks.service'), unit.replace('/usr/local/bin/qbuild', '/bin/true'));
      const r = spawnSync('systemd-analyze', ['verify', join(d, 'qbuild-webhooks.service')], { encoding: 'utf8' });
      rmSync(d, { recursive: true, force: true });
      expect(r.stderr).not.toMatch(/Unknown (key|section)|Invalid/);
    }
  });

  it('rc.local opens port 80 to GitHub hook ranges only, links the files and starts them', () => {
    const rc = renderRcLocal();
    expect(rc).toContain('nft add rule ip qubes custom-input ip saddr 140.82.112.0/20 tcp dport 80 accept');
    expect(rc).toContain('iptables -I INPUT -p tcp -s 192.30.252.0/22 --dport 80 -j ACCEPT');
    expect(rc).toContain('ln -sf /rw/config/qbuild/webhooks.nginx /etc/nginx/default.d/qbuild-webhooks.conf');
    expect(rc).toContain('systemctl --no-block start qbuild-webhooks.service');
    expect(renderRcLocal({ nginx: false })).not.toMatch(/nginx/);
    expect(spawnSync('sh', ['-n'], { input: rc }).status).toBe(0);
  });
});

describe.skipIf(!NGINX)('nginx in front of the listener (upstream deployment shape)', () => {
  let dir: string;
  let daemon: Daemon;
  let nginx: ChildProcess;
  let port: number;
  const transport = new FakeTransport();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qbuild-nginx-'));
    writeFileSync(join(dir, 'secret'), SECRET, { mode: 0o600 });
    const config = parseSysnetConfig({
      vm: 'sys-net', role: 'sysnet',
      sysnet: { buildVms: ['build-a', 'build-b'], listen: '127.0.0.1:0', secretFile: join(dir, 'secret'), maxBodyBytes: 65536 },
    });
    daemon = await startDaemon({ config, state: join(dir, 'state'), transport, log: () => {} });
    port = await freePort();
    for (const t of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, t));
    writeFileSync(join(dir, 'webhooks.conf'), renderNginxSnippet({ upstream: `127.0.0.1:${daemon.address.port}`, maxBodyBytes: 65536 }));
    writeFileSync(join(dir, 'nginx.conf'), `
${process.getuid?.() === 0 ? 'user root;' : ''}
daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server { listen 127.0.0.1:${port}; include ${dir}/webhooks.conf; }
}
`);
    const check = spawnSync(NGINX!, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    nginx = spawn(NGINX!, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    await waitFor('nginx', () => existsSync(join(dir, 'nginx.pid')));
  }, 30_000);

  afterAll(async () => {
    nginx?.kill('SIGTERM');
    await new Promise((r) => (nginx && nginx.exitCode === null ? nginx.once('exit', r) : r(null)));
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(method: string, body: string, sig?: string): Promise<number> {
    return (await httpRequest(port, '/github-hooks/trigger-build', {
      method, body,
      headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': `d-${Math.random()}`.replace('.', ''), 'x-hub-signature-256': sig ?? signBody(SECRET, body) },
    })).status;
  }

  it('passes signed webhooks through byte for byte and the listener\'s verdicts back', async () => {
    const push = JSON.stringify(githubExample('push'));
    expect(await send('POST', push)).toBe(202);
    await waitFor('two deliveries', () => transport.delivered.length === 2);
    expect(transport.delivered.map((d) => d.argument)).toEqual(['Hello-World', 'Hello-World']);
    expect(await send('POST', push, signBody('wrong-secret-0000000', push))).toBe(401);
    expect(await send('GET', '')).toBe(403);
    expect(await send('POST', 'x'.repeat(70000))).toBe(413);
    expect(transport.calls).toHaveLength(2);
  });
});
