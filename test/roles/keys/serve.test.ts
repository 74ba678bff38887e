import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeysQube } from './keys-qube.js';
import { GpgHome } from '../../helpers/gpg.js';
import { waitFor } from '../../helpers/wait.js';
import { encodeCommand, encodeFrame } from '../../../src/protocol/splitgpg/wire.js';

const text = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString();

/** Connects to one of the daemon's sockets, sends `bytes` (then EOF with `end`), and resolves with what came back once it closed. */
function raw(path: string, bytes: Buffer, o: { end?: boolean; deadlineMs?: number } = {}): Promise<{ out: Buffer; closedByDaemon: boolean }> {
  return new Promise((resolve) => {
    const s = connect(path);
    const out: Buffer[] = [];
    let closedByDaemon = true;
    const t = setTimeout(() => { closedByDaemon = false; s.destroy(); }, o.deadlineMs ?? 10_000);
    s.on('error', () => {});
    s.on('data', (b: Buffer) => out.push(b));
    s.on('close', () => { clearTimeout(t); resolve({ out: Buffer.concat(out), closedByDaemon }); });
    if (o.end) s.end(bytes); else s.write(bytes);
  });
}

/**
 * The resident keys service (`qbuild role keys --serve`): one process serving qubes.Gpg and
 * LogReceived over qrexec socket services. What must hold for a daemon that per-call processes
 * got for free: a killed, hung or malformed call ends only itself; keys and tickets are read
 * fresh per call.
 */
describe('keys daemon (socket services)', () => {
  // v1 tickets (no ledger proof): what the daemon does with tickets is the ticket tests' concern.
  const q = new KeysQube('ticket', null, { idleSeconds: 2, acceptV1Tickets: true });
  q.mode = 'socket';
  const home = new GpgHome();
  let ring = '';
  const data = Buffer.from('bytes the daemon signs\n');
  const gpgSock = () => join(q.state, 'rpc', 'qubes.Gpg');
  const signOk = async (key = 'ed25519@test.invalid') => {
    const r = await q.gpg(['-bsa', '-u', key], data);
    expect(r.exit, text(r.streams[1])).toBe(0);
    expect(text(r.streams[0])).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    return r;
  };
  beforeAll(async () => {
    expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0);
    await q.ensureDaemon();
    expect((await q.logReceived(q.ticket([data]))).code).toBe(0);
    ring = await home.keyring('gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc');
  });
  afterAll(() => { q.cleanup(); home.cleanup(); });

  it('signs over its socket, and gpgv verifies the signature', async () => {
    const r = await signOk();
    writeFileSync(join(home.dir, 'd'), data);
    writeFileSync(join(home.dir, 'd.asc'), r.streams[0]!);
    expect((await home.gpgv(ring, join(home.dir, 'd.asc'), join(home.dir, 'd'))).code).toBe(0);
    expect(q.log()).toMatch(/qubes\.Gpg from=build-fedora signed detach-sign .* startup_ms=0\.00 /);
  });

  it('a request killed mid-way leaves the daemon serving (same process), with its place freed', async () => {
    const pid = q.daemonPid();
    for (const cut of [10, 1028, 1028 + 20]) {
      const call = await q.open('qubes.Gpg', 'build-fedora');
      call.write(Buffer.concat([encodeCommand(['-bsa']), encodeFrame(0, Buffer.alloc(100, 0x61))]).subarray(0, cut));
      await new Promise((r) => setTimeout(r, 150));
      call.kill();
      await call.done;
    }
    await waitFor('killed calls\' places freed', () => { try { return readdirSync(join(q.state, 'gpg-active')).length === 0; } catch { return true; } });
    await signOk();
    expect(q.daemonPid()).toBe(pid);
    expect(() => process.kill(pid!, 0)).not.toThrow();
  });

  it('a hung request does not hold the others: a signature is made while it stalls, then it times out alone', async () => {
    const hung = await q.open('qubes.Gpg', 'build-fedora');
    const hungOut: Buffer[] = [];
    hung.onData((b) => hungOut.push(b));
    hung.write(encodeCommand(['-bsa']).subarray(0, 500));
    const t0 = Date.now();
    await signOk();
    expect(Date.now() - t0).toBeLessThan(2000);
    await hung.done; // the daemon answers it after keys.idleSeconds (2 s) and closes
    expect(Buffer.concat(hungOut).toString('latin1')).toMatch(/timed out: the request header did not arrive in full within 2 s/);
    await signOk();
  });

  it('keys imported and tickets received while it serves apply to the next call', async () => {
    const before = await q.gpg(['-bsa', '-u', 'rsa@test.invalid'], data);
    expect(before.exit).toBe(2);
    expect((await q.importKey('gpg-rsa.sec.asc')).code).toBe(0);
    await signOk('rsa@test.invalid');
    const fresh = Buffer.from('granted while serving\n');
    expect((await q.gpg(['-bsa'], fresh)).exit).toBe(2);
    expect((await q.logReceived(q.ticket([fresh]))).code).toBe(0);
    expect((await q.gpg(['-bsa', '-u', 'ed25519@test.invalid'], fresh)).exit).toBe(0);
  });

  it('closes a connection with a malformed header, an oversized one, or one naming another service; keeps serving', async () => {
    const before = q.daemonOutput();
    for (const bytes of [
      Buffer.from('qubesbuilder.LogReceived+build-fedora logs\0'),
      Buffer.from('qubes.Gpg+ not/a/vm\0'),
      Buffer.from('qubes.Gpg+ build-fedora name dom0\0'),
      Buffer.alloc(300, 0x41),
    ]) {
      const r = await raw(gpgSock(), bytes);
      expect(r.closedByDaemon, bytes.toString('latin1').slice(0, 40)).toBe(true);
      expect(r.out.length).toBe(0);
    }
    const said = q.daemonOutput().slice(before.length);
    expect(said).toMatch(/refused connection: header names qubesbuilder\.LogReceived/);
    expect(said).toMatch(/refused connection: .*invalid VM name/);
    expect(said).toMatch(/longer than 256 bytes/);
    expect(said).not.toMatch(/\n\s+at /);
    await signOk();
  });

  it('LogReceived refusals travel in-band (socket services carry no exit code or stderr): `stderr: …` lines, then `exit N`', async () => {
    const r = await raw(join(q.state, 'rpc', 'qubesbuilder.LogReceived'), Buffer.from('qubesbuilder.LogReceived+build-fedora evil\0'));
    expect(r.out.toString()).toMatch(/^stderr: qbuild: keys: LogReceived refused: caller evil is not the logs VM \(logs\)\nexit 1\n$/);
    const ok = await raw(join(q.state, 'rpc', 'qubesbuilder.LogReceived'), Buffer.concat([Buffer.from('qubesbuilder.LogReceived+build-fedora logs\0'), Buffer.from(q.ticket([data]))]), { end: true });
    expect(ok.out.toString()).toBe('exit 0\n');
  });

  it('stops on SIGTERM at once, a stalled call open or not, and removes its sockets', async () => {
    const pid = q.daemonPid()!;
    const stalled = await q.open('qubes.Gpg', 'build-fedora');
    stalled.write(encodeCommand(['-bsa']).subarray(0, 100));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    await waitFor('daemon exited', () => { try { process.kill(pid, 0); return false; } catch { return true; } });
    expect(Date.now() - t0).toBeLessThan(1500); // not the 2 s idle rule, nor the 5 s backstop
    await stalled.done;
    expect(existsSync(gpgSock())).toBe(false);
  });
});
