import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeysQube } from './keys-qube.js';
import { GpgHome } from '../../helpers/gpg.js';
import { generateNoteKey } from '../../../src/protocol/note/note.js';
import { PassThrough } from 'node:stream';
import { handleGpg } from '../../../src/roles/keys/gpg-service.js';
import { serviceContextFromEnv } from '../../../src/protocol/qrexec/env.js';
import { FrameDecoder, encodeClose, encodeCommand, encodeData } from '../../../src/protocol/splitgpg/wire.js';

const forbidden = JSON.parse(readFileSync(new URL('../../fixtures/splitgpg/forbidden-argv.json', import.meta.url), 'utf8')) as string[][];
const text = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString();

describe('qubes.Gpg and LogReceived in the keys VM (qrexec env set by hand)', () => {
  const q = new KeysQube();
  const home = new GpgHome();
  let ring = '';
  const bytes = Buffer.from('the exact header blob to sign\n');
  beforeAll(async () => {
    for (const k of ['gpg-ed25519.sec.asc', 'gpg-rsa.sec.asc']) expect((await q.importKey(k)).code).toBe(0);
    ring = await home.keyring('gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc');
  });
  afterAll(() => { q.cleanup(); home.cleanup(); });

  it('refuses every forbidden argument vector before reading input or keys', async () => {
    for (const argv of forbidden) {
      const r = await q.gpg(argv, bytes);
      expect(r.exit, JSON.stringify(argv)).toBe(1);
      expect(r.streams[0], JSON.stringify(argv)).toBeUndefined();
      expect(text(r.streams[1])).toMatch(/^qbuild: keys: refused gpg arguments: /);
    }
    expect(q.log().split('\n').filter((l) => l.includes('refused gpg arguments')).length).toBe(forbidden.length);
  }, 120_000);

  it('refuses non-UTF-8 bytes in the raw header', async () => {
    const header = Buffer.alloc(1028);
    const cmd = Buffer.concat([Buffer.from([0]), Buffer.from('-bsa'), Buffer.from([0]), Buffer.from('-u'), Buffer.from([0, 0xff, 0xfe, 0])]);
    cmd.copy(header, 4);
    header.writeUInt32LE(cmd.length - 1, 0);
    const r = await q.gpg(header, bytes);
    expect(r.exit).toBe(1);
    expect(text(r.streams[1])).toMatch(/printable UTF-8/);
  });

  it('refuses to sign without a ticket; nothing on stdout; refusal in the log', async () => {
    const r = await q.gpg(['--status-fd=2', '-bsau', 'ed25519@test.invalid'], bytes);
    expect(r.exit).toBe(2);
    expect(r.streams[0]).toBeUndefined();
    expect(text(r.streams[1])).toMatch(/refused to sign: no ticket for sha256:[0-9a-f]{64} from build-fedora/);
    expect(text(r.streams[1])).toMatch(/\[GNUPG:\] FAILURE sign 1/);
    expect(q.log()).toMatch(/qubes\.Gpg from=build-fedora refused refused to sign: no ticket/);
  });

  it('LogReceived refuses: wrong caller, wrong argument, foreign signer, ticket for another VM, empty (ticket gate)', async () => {
    const good = q.ticket([bytes]);
    const cases: [Promise<{ code: number; stderr: string }>, RegExp][] = [
      [q.logReceived(good, { from: 'build-fedora' }), /caller build-fedora is not the logs VM/],
      [q.logReceived(good, { arg: 'build-debian' }), /argument build-debian is not the build VM/],
      [q.logReceived(q.ticket([bytes], { signer: generateNoteKey('qbuild-logs/logs').signerKey })), /does not verify|no signature by a trusted key/],
      [q.logReceived(q.ticket([bytes], { vm: 'build-debian' })), /ticket names build-debian/],
      [q.logReceived(''), /empty LogReceived .* not accepted/],
      [q.logReceived(good.replace('vm build-fedora', 'vm build-fedorb')), /does not verify/],
      [q.logReceived(q.ticket([bytes], { expiresInMs: -500 })), /expired|expires before issued/],
    ];
    for (const [p, re] of cases) {
      const r = await p;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(re);
    }
    expect(q.log().match(/LogReceived from=\S+ refused/g)?.length).toBeGreaterThanOrEqual(cases.length);
  });

  it('signs the bytes a verified ticket lists, only those, only for that VM', async () => {
    const lr = await q.logReceived(q.ticket([bytes]));
    expect(lr.code, lr.stderr).toBe(0);
    expect(q.log()).toMatch(/LogReceived from=logs accepted vm=build-fedora/);

    const r = await q.gpg(['--status-fd=2', '-bsau', 'ed25519@test.invalid'], bytes);
    expect(r.exit).toBe(0);
    expect(text(r.streams[1])).toMatch(/\[GNUPG:\] KEY_CONSIDERED [0-9A-F]{40} 0\n\[GNUPG:\] BEGIN_SIGNING H8\n\[GNUPG:\] SIG_CREATED D 22 8 00 \d+ [0-9A-F]{40}\n/);
    writeFileSync(join(home.dir, 'data'), bytes);
    writeFileSync(join(home.dir, 'data.asc'), r.streams[0]!);
    expect((await home.gpgv(ring, join(home.dir, 'data.asc'), join(home.dir, 'data'))).code).toBe(0);

    const other = await q.gpg(['-bsa'], Buffer.from('other bytes'));
    expect(other.exit).toBe(2);
    expect(other.streams[0]).toBeUndefined();

    const otherVm = await q.gpg(['-bsa', '-u', 'ed25519@test.invalid'], bytes, { from: 'build-debian' });
    expect(otherVm.exit).toBe(2);
    expect(text(otherVm.streams[1])).toMatch(/build-debian is not the build VM/);
  });

  it('role keys tickets lists each grant with its form, and the log names the form signed', async () => {
    const release = Buffer.from('Suite: forms\n');
    expect((await q.logReceived(q.ticket([release, { form: 'clearsign', data: release }, { form: 'text', data: release }]))).code).toBe(0);
    const { run } = await import('../../helpers/run.js');
    const { qbuildBin } = await import('../../helpers/binary.js');
    const { formDigest } = await import('../../../src/protocol/signform.js');
    const list = (await run(qbuildBin(), ['role', 'keys', 'tickets'], { env: q.env() })).stdout.toString();
    for (const [token, form] of [['sha256', 'binary'], ['clearsign-sha256', 'clearsign'], ['text-sha256', 'text']] as const) {
      expect(list).toContain(`build-fedora ${token}:${formDigest(form, release)} `);
    }
    const r = await q.gpg(['-u', 'ed25519@test.invalid', '--clearsign'], release);
    expect(r.exit).toBe(0);
    expect(q.log()).toMatch(new RegExp(`signed clearsign key=[0-9A-F]{40} form=clearsign sha256=${formDigest('clearsign', release)} via=ticket`));
  });

  it('refuses an expired ticket', async () => {
    const data = Buffer.from('short-lived');
    // Long enough to be accepted on a loaded machine; then wait until it has expired.
    const expiresAt = Date.now() + 5000;
    const lr = await q.logReceived(q.ticket([data], { expiresInMs: 5000 }));
    expect(lr.code, lr.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));
    const r = await q.gpg(['-bsa', '-u', 'rsa@test.invalid'], data);
    expect(r.exit).toBe(2);
    expect(text(r.streams[1])).toMatch(/expired at/);
    expect(r.streams[0]).toBeUndefined();
  });

  it('an unknown key fails cleanly with gpg\'s status lines', async () => {
    const r = await q.gpg(['--status-fd', '2', '-bsa', '-u', 'DEADBEEFDEADBEEF'], bytes);
    expect(r.exit).toBe(2);
    expect(text(r.streams[1])).toContain('[GNUPG:] INV_SGNR 9 DEADBEEFDEADBEEF');
    expect(text(r.streams[1])).toContain('No secret key');
    expect(r.streams[0]).toBeUndefined();
  });

  it('clearsign with --digest-algo SHA512 and RSA; status on its own stream', async () => {
    const release = Buffer.from('Origin: qbuild\nSuite: test\n');
    expect((await q.logReceived(q.ticket([{ form: 'clearsign', data: release }]))).code).toBe(0);
    const r = await q.gpg(['--status-fd', '7', '--digest-algo', 'SHA512', '-u', 'rsa@test.invalid', '--clearsign', '-'], release);
    expect(r.exit).toBe(0);
    expect(text(r.streams[2])).toMatch(/SIG_CREATED C 1 10 01 /);
    writeFileSync(join(home.dir, 'InRelease'), r.streams[0]!);
    expect((await home.gpgv(ring, join(home.dir, 'InRelease'))).code).toBe(0);
  });

  it('lists and exports public keys only, without a ticket', async () => {
    const l = await q.gpg(['--list-keys', '--with-colons'], undefined);
    expect(l.exit).toBe(0);
    expect(text(l.streams[0])).toMatch(/^pub:u:255:22:19F142B8A03365F5:/m);
    const e = await q.gpg(['--export', '-a', 'ed25519@test.invalid'], undefined);
    expect(e.exit).toBe(0);
    expect(text(e.streams[0])).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(text(e.streams[0])).not.toMatch(/PRIVATE/);
  });

  it('verifies a detached signature sent on /dev/fd/3', async () => {
    const r0 = await q.gpg(['-bsa', '-u', 'ed25519@test.invalid'], bytes);
    const good = await q.gpg(['--status-fd=1', '--verify', '/dev/fd/3', '-'], undefined, { inputStreams: [bytes, r0.streams[0]!] });
    expect(good.exit).toBe(0);
    expect(text(good.streams[0])).toMatch(/\[GNUPG:\] GOODSIG 19F142B8A03365F5 /);
    const bad = await q.gpg(['--status-fd=1', '--verify', '/dev/fd/3', '-'], undefined, { inputStreams: [Buffer.from('x'), r0.streams[0]!] });
    expect(bad.exit).toBe(1);
    expect(text(bad.streams[0])).toMatch(/BADSIG/);
  });

  it('a client that goes away before closing its input gets nothing signed', async () => {
    const call = await q.open('qubes.Gpg', 'build-fedora');
    const out: Buffer[] = [];
    call.onData((c: Buffer) => out.push(c));
    call.end(encodeCommand(['-bsa']));
    const { code } = await call.done;
    expect(code).toBe(0);
    expect(Buffer.concat(out).length).toBe(0);
    expect(q.log().trimEnd().split('\n').at(-1)).toMatch(/qubes\.Gpg from=build-fedora aborted client closed its stream before the end of its input/);
  });
});

describe('qubes.Gpg handler on stream I/O (a caller without descriptors, e.g. in-process)', () => {
  const q = new KeysQube();
  afterAll(() => q.cleanup());

  it('answers --list-keys and a refusal over plain streams as over qrexec descriptors', async () => {
    expect((await q.importKey('gpg-ed25519.sec.asc')).code).toBe(0);
    const call = async (argv: string[], input: Buffer) => {
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      const out: Buffer[] = [];
      stdout.on('data', (c: Buffer) => out.push(c));
      stdin.end(Buffer.concat([encodeCommand(argv), ...encodeData(0, input), encodeClose(0)]));
      const ctx = serviceContextFromEnv('qubes.Gpg', { QREXEC_REMOTE_DOMAIN: 'build-fedora', QREXEC_SERVICE_FULL_NAME: 'qubes.Gpg' });
      const code = await handleGpg(ctx, { stdin, stdout, stderr: new PassThrough(), env: q.env() });
      const frames = new FrameDecoder(2).push(Buffer.concat(out));
      const exit = frames.find((f) => f.kind === 'exit');
      const streams = frames.filter((f) => f.kind === 'data').reduce<string[]>((a, f) => { a[f.stream] = (a[f.stream] ?? '') + f.data.toString(); return a; }, []);
      return { code, exit: exit && exit.kind === 'exit' ? exit.code : undefined, streams };
    };
    const list = await call(['--list-keys'], Buffer.alloc(0));
    expect(list.exit).toBe(0);
    expect(list.streams[0]).toContain('ed25519@test.invalid');
    const refused = await call(['-bsa'], Buffer.from('no ticket for these bytes\n'));
    expect(refused.exit).toBe(2);
    expect(refused.streams[0]).toBeUndefined();
    expect(refused.streams[1]).toMatch(/refused to sign: no ticket/);
  });
});
