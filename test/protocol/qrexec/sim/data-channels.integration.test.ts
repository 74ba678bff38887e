import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { run } from '../../../helpers/run.js';
import { startSim, type SimHandle } from '../../../helpers/sim.js';
import { waitFor } from '../../../helpers/wait.js';
import { FrameDecoder, FrameType, encodeFrame, type Frame } from '../../../../src/protocol/qrexec/sim/frames.js';
import { encodeChannelHeader } from '../../../../src/protocol/qrexec/sim/channel.js';

/** A raw connection to a qube's socket, collecting the frames the router sends. */
function rawConnection(path: string) {
  const sock = connect(path);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let closed = false;
  sock.on('data', (b: Buffer) => { frames.push(...decoder.push(b)); waiters.splice(0).forEach((w) => w()); });
  sock.on('error', () => {});
  sock.on('close', () => { closed = true; waiters.splice(0).forEach((w) => w()); });
  const until = async (check: () => boolean) => {
    while (!check()) {
      if (closed) throw new Error('connection closed');
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    sock, frames,
    frame: async (type: FrameType) => { await until(() => frames.some((f) => f.type === type)); return frames.find((f) => f.type === type)!; },
    closed: () => new Promise<void>((r) => (closed ? r() : sock.once('close', () => r()))),
  };
}

const closedSoon = (s: Socket) => new Promise<void>((r) => { s.on('error', () => {}); s.resume(); s.once('close', () => r()); });

/** A REQUEST frame naming the caller's token. */
const request = (target: string, service: string, token: Buffer) =>
  encodeFrame(FrameType.Request, Buffer.from(JSON.stringify({ target, service, token: token.toString('hex') })));

// Data flows caller ⇄ service over the data channels; the router only decides and spawns.
describe('simulator data channels', () => {
  let sim: SimHandle;
  const stub = (name: string, lines: string[]) => {
    appendFileSync(`${sim.dir}/policy.d/31-test.policy`, `${name} * sys-net build-fedora allow\n`);
    writeFileSync(`${sim.qubeDir('build-fedora')}/rpc/${name}`, ['#!/bin/sh', ...lines, ''].join('\n'), { mode: 0o755 });
  };
  const sock = (vm: string) => join(sim.qubeDir(vm), 'qrexec.sock');
  /** Opens a call's stdin and stdout channels on a qube's socket. */
  const channels = (vm: string, token: Buffer) => {
    const stdin = connect(sock(vm));
    stdin.write(encodeChannelHeader('stdin', token));
    const stdout = connect(sock(vm));
    stdout.write(encodeChannelHeader('stdout', token));
    return { stdin, stdout };
  };
  beforeAll(async () => {
    sim = await startSim({ daemons: false });
    stub('test.Sum', ['sha256sum']);
    stub('test.Echo', ['cat']);
    stub('test.NoRead', ['echo bye', 'exit 3']);
    stub('test.Keep', ['cat > "$HOME/kept"', 'echo eof > "$HOME/eof-seen"']);
  });
  afterAll(async () => { await sim?.down(); });

  it('carries 8 MiB each way intact', async () => {
    const data = randomBytes(8 << 20);
    const sum = await sim.call('sys-net', 'build-fedora', 'test.Sum', { stdin: data });
    expect(sum.code).toBe(0);
    expect(sum.stdout.toString().slice(0, 64)).toBe(createHash('sha256').update(data).digest('hex'));
    const echo = await sim.call('sys-net', 'build-fedora', 'test.Echo', { stdin: data });
    expect(echo.code).toBe(0);
    expect(echo.stdout.equals(data)).toBe(true);
  });

  it('keeps concurrent calls from one qube apart (each token names its own call)', async () => {
    const inputs = Array.from({ length: 8 }, (_, i) => `call ${i}\n`.repeat(1000 * (i + 1)));
    const rs = await Promise.all(inputs.map((stdin) => sim.call('sys-net', 'build-fedora', 'test.Echo', { stdin })));
    rs.forEach((r, i) => { expect(r.code).toBe(0); expect(r.stdout.toString()).toBe(inputs[i]); });
  });

  it('does not hang when the service exits without reading its stdin', async () => {
    const r = await sim.call('sys-net', 'build-fedora', 'test.NoRead', { stdin: randomBytes(16 << 20) });
    expect(r.code).toBe(3);
    expect(r.stdout.toString()).toBe('bye\n');
  });

  it('gives the service EOF when the caller is killed mid-stream', async () => {
    const home = join(sim.qubeDir('build-fedora'), 'home');
    const child = sim.spawnCall('sys-net', 'build-fedora', 'test.Keep');
    child.stdin.write('first part\n');
    await waitFor('the bytes at the service', () => existsSync(join(home, 'kept')) && readFileSync(join(home, 'kept'), 'utf8') === 'first part\n');
    child.kill('SIGKILL');
    await waitFor('the service to see EOF', () => existsSync(join(home, 'eof-seen')));
  });

  it('refuses data channels naming another qube\'s call, an unknown or used token, or a malformed header; the call still works', async () => {
    const token = randomBytes(16);
    const ctl = rawConnection(sock('sys-net'));
    ctl.sock.write(request('build-fedora', 'test.Echo', token));
    await waitFor('the router to log the call', () => /allow sys-net -> build-fedora test\.Echo/.test(sim.routerLog()));
    // The token is only good on the caller's own socket; a token no REQUEST names is dropped
    // after a short wait (its REQUEST may still be on the way).
    const elsewhere = connect(sock('build-fedora'));
    elsewhere.write(encodeChannelHeader('stdin', token));
    const wrong = connect(sock('sys-net'));
    wrong.write(encodeChannelHeader('stdin', randomBytes(16)));
    const garbage = connect(sock('sys-net'));
    garbage.write('GET / HTTP/1.0\r\n\r\n');
    await Promise.all([closedSoon(elsewhere), closedSoon(wrong), closedSoon(garbage)]);
    expect(sim.routerLog()).toMatch(/data channel on build-fedora's socket refused: token of a call from another qube/);
    expect(sim.routerLog()).toMatch(/data channel on sys-net's socket refused: no call named its token within 2000 ms/);
    // The real channels: the service runs with them.
    const { stdin, stdout } = channels('sys-net', token);
    const out: Buffer[] = [];
    stdout.on('data', (b: Buffer) => out.push(b));
    await ctl.frame(FrameType.Started);
    stdin.end('through the channel\n');
    await new Promise((r) => stdout.once('end', r));
    expect(Buffer.concat(out).toString()).toBe('through the channel\n');
    expect((await ctl.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(0);
    // Used up: the same token no longer opens anything, at once.
    const again = connect(sock('sys-net'));
    again.write(encodeChannelHeader('stdout', token));
    await closedSoon(again);
    expect(sim.routerLog()).toMatch(/refused: token of a call that already started or ended/);
    ctl.sock.destroy();
    const reuse = rawConnection(sock('sys-net'));
    reuse.sock.write(request('build-fedora', 'test.Echo', token));
    expect((await reuse.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(125);
    expect(reuse.frames[0]!.payload.toString()).toMatch(/token already in use/);
  });

  it('runs a call whose channels arrive before its REQUEST', async () => {
    const token = randomBytes(16);
    const { stdin, stdout } = channels('sys-net', token);
    const out: Buffer[] = [];
    stdout.on('data', (b: Buffer) => out.push(b));
    await new Promise((r) => setTimeout(r, 200));
    const ctl = rawConnection(sock('sys-net'));
    ctl.sock.write(request('build-fedora', 'test.Echo', token));
    await ctl.frame(FrameType.Started);
    stdin.end('late request\n');
    await new Promise((r) => stdout.once('end', r));
    expect(Buffer.concat(out).toString()).toBe('late request\n');
    expect((await ctl.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(0);
  });

  it('refuses a REQUEST naming a token another call is using (125)', async () => {
    const token = randomBytes(16);
    const first = rawConnection(sock('sys-net'));
    first.sock.write(request('build-fedora', 'test.Echo', token));
    await waitFor('the first call', () => sim.routerLog().split('\n').filter((l) => l.includes('allow sys-net -> build-fedora test.Echo')).length > 0);
    const second = rawConnection(sock('sys-net'));
    second.sock.write(request('build-fedora', 'test.Echo', token));
    expect((await second.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(125);
    expect(second.frames[0]!.payload.toString()).toMatch(/token already in use/);
    first.sock.destroy();
  });

  it('fails the call (125) when a data channel sends before the service started', async () => {
    const token = randomBytes(16);
    const ctl = rawConnection(sock('sys-net'));
    ctl.sock.write(request('build-fedora', 'test.Echo', token));
    await waitFor('the router to log the call', () => sim.routerLog().includes('allow sys-net -> build-fedora test.Echo'));
    const stdin = connect(sock('sys-net'));
    stdin.write(Buffer.concat([encodeChannelHeader('stdin', token), Buffer.from('too early')]));
    await closedSoon(stdin);
    expect((await ctl.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(125);
    expect(ctl.frames.some((f) => f.type === FrameType.Started)).toBe(false);
  });

  it('closes the data channels of a refused call: they never reach a service', async () => {
    const token = randomBytes(16);
    const ctl = rawConnection(sock('keys-fedora'));
    ctl.sock.write(request('build-fedora', 'test.Echo', token));
    const { stdin, stdout } = channels('keys-fedora', token);
    expect((await ctl.frame(FrameType.Exit)).payload.readUInt32BE(0)).toBe(126);
    expect(ctl.frames.map((f) => f.type)).toEqual([FrameType.Stderr, FrameType.Exit]);
    const t0 = Date.now();
    await Promise.all([closedSoon(stdin), closedSoon(stdout), ctl.closed()]);
    expect(Date.now() - t0).toBeLessThan(1500); // refused with the call, not left to expire
  });

  it('reports a caller without a router as 125', async () => {
    const r = await run(sim.bin, ['sim', 'call', '--formula', join(sim.dir, 'nowhere'), '--from', 'sys-net', 'build-fedora', 'test.Echo']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/no simulator running for .*: run qbuild sim up --formula .* first/);
  });
});
