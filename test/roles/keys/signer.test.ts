import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importArmoredSecretKey } from '../../../src/roles/keys/import-key.js';
import { signData } from '../../../src/roles/keys/signer.js';
import type { StoredKey } from '../../../src/roles/keys/stored-key.js';
import { GpgHome, fixture } from '../../helpers/gpg.js';

const KEYS = ['gpg-ed25519', 'gpg-rsa', 'openpgpjs-ed25519'] as const;
const PUBS = ['gpg-ed25519.pub.asc', 'gpg-rsa.pub.asc'];

describe('signatures made with node:crypto verify with gpgv', () => {
  const home = new GpgHome();
  const keys: Record<string, StoredKey> = {};
  let ring = '';
  beforeAll(async () => {
    for (const k of KEYS) keys[k] = await importArmoredSecretKey(fixture(`${k}.sec.asc`));
    ring = await home.keyring(...PUBS);
    writeFileSync(ring, Buffer.concat([readFileSync(ring), Buffer.from(keys['openpgpjs-ed25519']!.publicKey, 'base64')]));
  });
  afterAll(() => home.cleanup());

  const data = Buffer.from('Origin: qbuild\n-----dashes\ntrailing space   \n\nno final newline');
  const now = Math.floor(Date.now() / 1000);

  for (const k of KEYS) {
    for (const hash of ['SHA256', 'SHA512'] as const) {
      it(`${k} ${hash}: detached binary and armored, text mode, inline, clearsign`, async () => {
        const key = keys[k]!;
        const dataPath = join(home.dir, 'data');
        writeFileSync(dataPath, data);
        for (const armor of [false, true]) {
          const sig = signData(key, data, { mode: 'detach', armor, textmode: false, hash, created: now });
          const sigPath = join(home.dir, `sig-${armor}`);
          writeFileSync(sigPath, sig.output);
          expect((await home.gpgv(ring, sigPath, dataPath)).code).toBe(0);
          expect(sig.statusType).toBe('D');
        }
        const text = signData(key, data, { mode: 'detach', armor: true, textmode: true, hash, created: now });
        writeFileSync(join(home.dir, 'text.asc'), text.output);
        expect((await home.gpgv(ring, join(home.dir, 'text.asc'), dataPath)).code).toBe(0);
        for (const mode of ['inline', 'clear'] as const) {
          const s = signData(key, data, { mode, armor: true, textmode: false, hash, created: now });
          const p = join(home.dir, `${mode}.asc`);
          writeFileSync(p, s.output);
          const r = await home.gpgv(ring, p);
          expect(r.code, r.stderr).toBe(0);
        }
      });
    }
  }

  it('a tampered detached signature fails', async () => {
    const dataPath = join(home.dir, 'data2');
    writeFileSync(dataPath, data);
    const sig = signData(keys['gpg-ed25519']!, Buffer.from('other bytes'), { mode: 'detach', armor: false, textmode: false, hash: 'SHA256', created: now });
    writeFileSync(join(home.dir, 'bad.sig'), sig.output);
    expect((await home.gpgv(ring, join(home.dir, 'bad.sig'), dataPath)).code).not.toBe(0);
  });

  it('clearsign output looks like gpg: header, dash-escaping, armor', () => {
    const s = signData(keys['gpg-rsa']!, Buffer.from('a\n-b\n'), { mode: 'clear', armor: true, textmode: false, hash: 'SHA256', created: now });
    const text = s.output.toString();
    expect(text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\na\n- -b\n-----BEGIN PGP SIGNATURE-----\n')).toBe(true);
    expect(text.endsWith('-----END PGP SIGNATURE-----\n')).toBe(true);
  });

  // Finding E: text-mode and clearsign signatures GnuPG 2.2 verifies for every input.
  const TEXTS = [
    '', 'a', 'a\n', 'a\r', 'a\r\n', 'a\r\r\nb\r\r\n', 'x \r \r\n\r\n', 'lone\rcr\n', 'Origin: qbuild\nSuite: stable\n',
    'trailing  \ntab\t\n  \n', '-dash\n--\n- x\n', 'no final newline  ', '\n\n', '\r\r\r',
  ];
  for (const k of ['gpg-ed25519', 'gpg-rsa'] as const) {
    it(`${k}: -t detached, -s -t and --clearsign verify with gpgv for CR, CR CR LF, blanks, empty and unterminated texts`, async () => {
      const key = keys[k]!;
      for (const t of TEXTS) {
        const data = Buffer.from(t, 'latin1');
        const dataPath = join(home.dir, 'text-data');
        writeFileSync(dataPath, data);
        const detached = signData(key, data, { mode: 'detach', armor: true, textmode: true, hash: 'SHA256', created: now });
        writeFileSync(join(home.dir, 't.asc'), detached.output);
        const d = await home.gpgv(ring, join(home.dir, 't.asc'), dataPath);
        expect(d.code, `-t ${JSON.stringify(t)}: ${d.stderr}`).toBe(0);
        for (const mode of ['inline', 'clear'] as const) {
          const s = signData(key, data, { mode, armor: mode === 'inline', textmode: true, hash: 'SHA256', created: now });
          writeFileSync(join(home.dir, 'm.asc'), s.output);
          const r = await home.gpgv(ring, join(home.dir, 'm.asc'));
          expect(r.code, `${mode} ${JSON.stringify(t)}: ${r.stderr}`).toBe(0);
        }
      }
    }, 60_000);
  }

  it('clearsign text is byte for byte what gpg --clearsign writes before the signature', () => {
    const gpg = new GpgHome();
    try {
      gpg.generateKey('clear <clear@example.invalid>');
      for (const t of TEXTS) {
        const data = Buffer.from(t, 'latin1');
        writeFileSync(join(gpg.dir, 'in'), data);
        gpg.gpgSync(['--yes', '--clearsign', '--digest-algo', 'SHA256', '-o', join(gpg.dir, 'out'), join(gpg.dir, 'in')]);
        const theirs = readFileSync(join(gpg.dir, 'out')).toString('latin1');
        const ours = signData(keys['gpg-ed25519']!, data, { mode: 'clear', armor: true, textmode: false, hash: 'SHA256', created: now }).output.toString('latin1');
        const cut = (s: string) => s.slice(0, s.indexOf('-----BEGIN PGP SIGNATURE-----'));
        expect(cut(ours), JSON.stringify(t)).toBe(cut(theirs));
      }
    } finally {
      gpg.cleanup();
    }
  });
});
