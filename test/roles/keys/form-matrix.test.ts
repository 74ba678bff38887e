import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editVmConfig, type SimHandle } from '../../helpers/sim.js';
import { startKeysSim } from './keys-qube.js';
import { run } from '../../helpers/run.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';
import { generateNoteKey, parseSignerKey } from '../../../src/protocol/note/note.js';
import { signTicket } from '../../../src/protocol/ticket/ticket.js';
import { formDigest, signedBytes, type SignForm } from '../../../src/protocol/signform.js';

/**
 * Finding A, through the simulator and the built binary: a signature the keys VM makes must
 * not verify (in GnuPG 2.2) for bytes whose digest, in the form that signature binds, is in
 * no ticket. For each kind of signature: a ticket for D in that form, a signature through
 * `qbuild sign`, and gpg's verdict on it against D, D with CRLF, D with CR CR LF and D with
 * trailing blanks.
 */
const KEY = 'ed25519@test.invalid';
const D = Buffer.from('Origin: qbuild\nSuite: stable\n');
const VARIANTS: Record<string, Buffer> = {
  D,
  crlf: Buffer.from('Origin: qbuild\r\nSuite: stable\r\n'),
  crcrlf: Buffer.from('Origin: qbuild\r\r\nSuite: stable\r\r\n'),
  blanks: Buffer.from('Origin: qbuild  \nSuite: stable\t\n'),
};

interface Mode { name: string; form: SignForm; args: string[]; kind: 'detached' | 'clear' | 'inline' }
const MODES: Mode[] = [
  { name: 'binary detached', form: 'binary', args: ['--detach-sign', '--armor'], kind: 'detached' },
  { name: '--textmode detached', form: 'text', args: ['--detach-sign', '--textmode', '--armor'], kind: 'detached' },
  { name: '--clearsign', form: 'clearsign', args: ['--clearsign'], kind: 'clear' },
  { name: '-s -t', form: 'text', args: ['-s', '-t'], kind: 'inline' },
];

/** gpg's verdict on the verification: GOODSIG, BADSIG, or whatever else it said. */
type Verdict = 'GOODSIG' | 'BADSIG' | 'OTHER';

/** Packets of a binary OpenPGP message (old- and new-format headers, definite lengths). */
function packets(b: Buffer): { tag: number; raw: Buffer; body: Buffer }[] {
  const out = [];
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let tag: number; let len: number; let head: number;
    if (c & 0x40) {
      tag = c & 0x3f;
      const o = b[i + 1]!;
      if (o < 192) { len = o; head = 2; } else if (o < 224) { len = ((o - 192) << 8) + b[i + 2]! + 192; head = 3; } else { len = b.readUInt32BE(i + 2); head = 6; }
    } else {
      tag = (c >> 2) & 0xf;
      const lt = c & 3;
      if (lt === 0) { len = b[i + 1]!; head = 2; } else if (lt === 1) { len = b.readUInt16BE(i + 1); head = 3; } else { len = b.readUInt32BE(i + 1); head = 5; }
    }
    out.push({ tag, raw: b.subarray(i, i + head + len), body: b.subarray(i + head, i + head + len) });
    i += head + len;
  }
  return out;
}

/** The inline message with its literal data replaced by `data` (same mode, name and date). */
function withLiteral(message: Buffer, data: Buffer): Buffer {
  const ps = packets(message);
  const lit = ps.find((p) => p.tag === 11)!.body;
  const nameLen = lit[1]!;
  const body = Buffer.concat([lit.subarray(0, 6 + nameLen), data]);
  const literal = Buffer.concat([Buffer.from([0x80 | (11 << 2) | 1, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat(ps.map((p) => (p.tag === 11 ? literal : p.raw)));
}

/** The clearsigned block with its text replaced by `text` (which has no line starting with `-`). */
function withCleartext(block: Buffer, text: Buffer): Buffer {
  const s = block.toString('latin1');
  const start = s.indexOf('\n\n') + 2;
  const sig = s.indexOf('-----BEGIN PGP SIGNATURE-----');
  return Buffer.concat([Buffer.from(s.slice(0, start), 'latin1'), text, Buffer.from(s.slice(sig), 'latin1')]);
}

describe('finding A: a signature verifies only for bytes whose digest in its form is ticketed', () => {
  let sim: SimHandle;
  const note = generateNoteKey('qbuild-logs/logs');
  const home = new GpgHome();
  let buildHome = '';
  let wrapper = '';
  const ticketed: Record<SignForm, Set<string>> = { binary: new Set(), text: new Set(), clearsign: new Set() };

  async function ticket(form: SignForm, data: Buffer): Promise<void> {
    const now = Date.now();
    const text = signTicket({
      buildVm: 'build-fedora', logPath: 'build-fedora/log_2026-12-01_00-00-00', logSha256: 'c'.repeat(64),
      issued: new Date(now - 1000), expires: new Date(now + 600_000),
      digests: [{ form, sha256: formDigest(form, data), label: `D-${form}` }],
    }, parseSignerKey(note.signerKey));
    const r = await sim.call('logs', 'dom0', 'qubesbuilder.LogReceived+build-fedora', { stdin: text });
    expect(r.code, r.stderr).toBe(0);
    ticketed[form].add(formDigest(form, data));
  }

  async function sign(mode: Mode, data: Buffer, out: string) {
    const input = join(buildHome, 'input');
    writeFileSync(input, data);
    return run(wrapper, ['-u', KEY, ...mode.args, '-o', out, input], {
      env: { ...process.env, ...sim.env('build-fedora'), GNUPGHOME: home.dir }, cwd: buildHome,
    });
  }

  async function verdict(mode: Mode, signature: Buffer, v: Buffer): Promise<Verdict> {
    const dir = home.dir;
    let args: string[];
    if (mode.kind === 'detached') {
      writeFileSync(join(dir, 'v.sig'), signature);
      writeFileSync(join(dir, 'v'), v);
      args = [join(dir, 'v.sig'), join(dir, 'v')];
    } else {
      writeFileSync(join(dir, 'v.msg'), mode.kind === 'clear' ? withCleartext(signature, v) : withLiteral(signature, v));
      args = [join(dir, 'v.msg')];
    }
    const r = await run('gpg', ['--homedir', dir, '--batch', '--status-fd', '1', '--verify', ...args]);
    const status = r.stdout.toString();
    if (/^\[GNUPG:\] GOODSIG /m.test(status)) return 'GOODSIG';
    if (/^\[GNUPG:\] BADSIG /m.test(status)) return 'BADSIG';
    return 'OTHER';
  }

  beforeAll(async () => {
    sim = await startKeysSim({
      daemons: false,
      // These tickets are v1 (no ledger): the keys VM takes them only with acceptV1Tickets.
      configure: (dir) => editVmConfig(dir, 'keys-fedora', (c) => { c.keys.logsPublicKey = note.verifierKey; c.keys.acceptV1Tickets = true; }),
    });
    const r = await sim.run('keys-fedora', ['role', 'keys', 'import', '-'], { stdin: fixture('gpg-ed25519.sec.asc') });
    expect(r.code, r.stderr).toBe(0);
    await home.importPublic('gpg-ed25519.pub.asc');
    buildHome = join(sim.qubeDir('build-fedora'), 'home');
    wrapper = join(buildHome, 'qbuild-gpg');
    writeFileSync(wrapper, `#!/bin/sh\nexec "$QBUILD_BIN" sign "$@"\n`);
    chmodSync(wrapper, 0o755);
  });
  afterAll(async () => { await sim?.down(); home.cleanup(); });

  it('the reported case: a ticket for sha256(D) grants no text or clearsign signature of D or of D in CRLF', async () => {
    await ticket('binary', D);
    for (const mode of MODES.filter((m) => m.form !== 'binary')) {
      for (const data of [D, VARIANTS.crlf!]) {
        const out = join(buildHome, 'refused.asc');
        const r = await sign(mode, data, out);
        expect(r.code, `${mode.name}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`refused to sign: no ticket for ${mode.form}-sha256:`));
      }
    }
    const crlfBinary = await sign(MODES[0]!, VARIANTS.crlf!, join(buildHome, 'refused.asc'));
    expect(crlfBinary.code).toBe(2);
  }, 60_000);

  // What GnuPG 2.2 says, per signature kind and input (each cell checked against the tickets below).
  const EXPECTED: Record<string, Record<string, Verdict>> = {
    'binary detached': { D: 'GOODSIG', crlf: 'BADSIG', crcrlf: 'BADSIG', blanks: 'BADSIG' },
    '--textmode detached': { D: 'GOODSIG', crlf: 'GOODSIG', crcrlf: 'GOODSIG', blanks: 'BADSIG' },
    '--clearsign': { D: 'GOODSIG', crlf: 'GOODSIG', crcrlf: 'GOODSIG', blanks: 'GOODSIG' },
    // The literal packet carries the signed text itself: only that exact text verifies.
    '-s -t': { D: 'BADSIG', crlf: 'GOODSIG', crcrlf: 'BADSIG', blanks: 'BADSIG' },
  };

  for (const mode of MODES) {
    it(`${mode.name}: a ticket for D in form ${mode.form}; GOODSIG only where that form's digest is ticketed`, async () => {
      await ticket(mode.form, D);
      const out = join(buildHome, 'sig');
      const r = await sign(mode, D, out);
      expect(r.code, r.stderr).toBe(0);
      const signature = readFileSync(out);
      const seen: Record<string, Verdict> = {};
      for (const [name, v] of Object.entries(VARIANTS)) {
        seen[name] = await verdict(mode, signature, v);
        const isTicketed = ticketed[mode.form].has(formDigest(mode.form, v));
        if (seen[name] === 'GOODSIG') expect(isTicketed, `${mode.name} verifies for ${name}, whose digest is in no ticket`).toBe(true);
        // The gate agrees: the keys VM signs this variant in this form exactly when it is ticketed.
        const again = await sign(mode, v, join(buildHome, 'again'));
        expect(again.code, `${mode.name} ${name}: ${again.stderr}`).toBe(isTicketed ? 0 : 2);
      }
      expect(seen).toEqual(EXPECTED[mode.name]);
      if (mode.kind === 'inline') {
        // gpg -s -t puts GnuPG's text form in the literal packet; so does qbuild.
        const lit = packets(signature).find((p) => p.tag === 11)!.body;
        expect(lit.subarray(6 + lit[1]!).equals(signedBytes('text', D))).toBe(true);
      }
    }, 60_000);
  }
});
