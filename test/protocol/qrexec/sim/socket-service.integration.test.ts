import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimHandle } from '../../../helpers/sim.js';

/**
 * The router runs a socket-based service as qrexec-agent does (qubes-core-qrexec
 * `find_qrexec_service`, `process_io.c`): when the rpc entry is a socket or a symlink to one it
 * connects, writes `SERVICE+ARG SOURCE\0`, relays stdin (EOF = shutdown for writing) and
 * stdout, has no stderr, and reports exit 0 once the service closed its side.
 */
describe('sim router: socket-based qrexec services', () => {
  let sim: SimHandle;
  const dir = mkdtempSync(join(tmpdir(), 'qb-sock-'));
  const servers: Server[] = [];
  /** A service listening on `name` that hands each connection to `onConn`. */
  async function listen(name: string, onConn: (s: Socket) => void): Promise<string> {
    const path = join(dir, name);
    const server = createServer({ allowHalfOpen: true }, onConn);
    await new Promise<void>((r) => server.listen(path, r));
    servers.push(server);
    return path;
  }
  const entry = (vm: string, service: string, target: string) => {
    const p = join(sim.qubeDir(vm), 'rpc', service);
    rmSync(p, { force: true });
    symlinkSync(target, p);
  };
  /** A call from `from`; resolves with what the caller saw. */
  function call(from: string, target: string, service: string, stdin: Buffer, keepOpen = false) {
    const child = sim.spawnCall(from, target, service);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    if (keepOpen) child.stdin.write(stdin); else child.stdin.end(stdin);
    return new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout: Buffer.concat(out), stderr: err })));
  }

  beforeAll(async () => { sim = await startSim({ daemons: false }); }, 60_000);
  afterAll(async () => {
    for (const s of servers) s.close();
    await sim?.down();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the exact header, then stdin up to its EOF; returns stdout and exit 0 with no stderr', async () => {
    const got: Buffer[] = [];
    const path = await listen('gpg', (s) => {
      s.on('data', (b: Buffer) => got.push(b));
      s.on('end', () => s.end(`answer to ${Buffer.concat(got).length} bytes\n`));
    });
    entry('keys-fedora', 'qubes.Gpg', path);
    const payload = Buffer.alloc(200_000, 0x5a);
    const r = await call('build-fedora', 'keys-fedora', 'qubes.Gpg', payload);
    const header = Buffer.from('qubes.Gpg+ build-fedora\0');
    const all = Buffer.concat(got);
    expect(all.subarray(0, header.length).toString('latin1')).toBe(header.toString('latin1'));
    expect(all.subarray(header.length).equals(payload)).toBe(true);
    expect(r.stdout.toString()).toBe(`answer to ${header.length + payload.length} bytes\n`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sim.routerLog()).toMatch(/allow build-fedora -> keys-fedora qubes\.Gpg \(socket service\)/);
  });

  it('names the argument and the caller (after a policy redirect: the caller, not the target asked for)', async () => {
    let head = '';
    const path = await listen('lr', (s) => {
      s.on('data', (b: Buffer) => { head += b.toString('latin1'); });
      s.on('end', () => s.end());
    });
    entry('keys-fedora', 'qubesbuilder.LogReceived', path);
    const r = await call('logs', 'dom0', 'qubesbuilder.LogReceived+build-fedora', Buffer.from('ticket'));
    expect(r.code).toBe(0);
    expect(head).toBe('qubesbuilder.LogReceived+build-fedora logs\0ticket');
  });

  it('a service that answers and closes while the caller still holds stdin open ends the call with exit 0', async () => {
    const path = await listen('early', (s) => { s.once('data', () => s.end('bye\n')); });
    entry('keys-fedora', 'qubes.Gpg', path);
    const r = await call('build-fedora', 'keys-fedora', 'qubes.Gpg', Buffer.from('x'), true);
    expect(r.stdout.toString()).toBe('bye\n');
    expect(r.code).toBe(0);
  });

  it('a caller that dies mid-call closes the service\'s connection', async () => {
    let closed!: () => void;
    let reached!: () => void;
    const gone = new Promise<void>((r) => { closed = r; });
    const got = new Promise<void>((r) => { reached = r; });
    // The service sees the end of its connection (the agent closes it when the vchan goes).
    const path = await listen('die', (s) => {
      let seen = '';
      s.on('data', (b: Buffer) => { seen += b.toString('latin1'); if (seen.includes('half a request')) reached(); });
      s.on('end', () => closed());
      s.on('close', () => closed());
    });
    entry('keys-fedora', 'qubes.Gpg', path);
    const child = sim.spawnCall('build-fedora', 'keys-fedora', 'qubes.Gpg');
    child.stdin.write('half a request');
    await got;
    child.kill('SIGKILL');
    await gone;
  });

  it('a socket nobody listens on, or a symlink to nothing, fails the call with 125 (qrexec\'s problem code)', async () => {
    // What a daemon killed with SIGKILL leaves behind: its socket file, with nobody listening.
    const stale = join(dir, 'stale');
    const d = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => console.log('up'))`]);
    await new Promise((r) => d.stdout.once('data', r));
    d.kill('SIGKILL');
    await new Promise((r) => d.once('exit', r));
    expect(existsSync(stale)).toBe(true);
    entry('keys-fedora', 'qubes.Gpg', stale);
    let r = await call('build-fedora', 'keys-fedora', 'qubes.Gpg', Buffer.from('x'));
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/qrexec: cannot connect to service qubes\.Gpg in keys-fedora/);
    entry('keys-fedora', 'qubes.Gpg', join(dir, 'nothing-here'));
    r = await call('build-fedora', 'keys-fedora', 'qubes.Gpg', Buffer.from('x'));
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/qrexec: cannot open service qubes\.Gpg in keys-fedora/);
  });
});
