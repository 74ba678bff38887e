import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { importArmoredSecretKey } from '../../../src/roles/keys/import-key.js';
import { KeyStore } from '../../../src/roles/keys/keystore.js';
import { fixture } from '../../helpers/gpg.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qb-keys-');

describe('key import and store', () => {
  it('stores GnuPG and openpgp.js keys with 0600 files in a 0700 dir', async () => {
    const store = new KeyStore(tmp());
    for (const k of ['gpg-ed25519', 'gpg-rsa', 'openpgpjs-ed25519']) store.save(await importArmoredSecretKey(fixture(`${k}.sec.asc`)));
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    const keys = store.list();
    expect(keys.map((k) => k.signer.algorithm).sort()).toEqual([1, 22, 22]);
    for (const k of keys) expect(statSync(join(store.dir, `${k.fingerprint}.json`)).mode & 0o777).toBe(0o600);
  });

  it('finds keys by fingerprint, long/short ID, email, uid substring; unknown gives undefined', async () => {
    const store = new KeyStore(tmp());
    const ed = await importArmoredSecretKey(fixture('gpg-ed25519.sec.asc'));
    const rsa = await importArmoredSecretKey(fixture('gpg-rsa.sec.asc'));
    store.save(ed); store.save(rsa);
    expect(store.find(ed.fingerprint)?.fingerprint).toBe(ed.fingerprint);
    expect(store.find(`0x${ed.keyId}`)?.fingerprint).toBe(ed.fingerprint);
    expect(store.find(ed.keyId.slice(8).toLowerCase())?.fingerprint).toBe(ed.fingerprint);
    expect(store.find('<rsa@test.invalid>')?.fingerprint).toBe(rsa.fingerprint);
    expect(store.find('Test RSA')?.fingerprint).toBe(rsa.fingerprint);
    expect(store.find('DEADBEEFDEADBEEF')).toBeUndefined();
    expect(store.find('nobody@nowhere')).toBeUndefined();
    expect(store.find(undefined)).toBeUndefined(); // two keys, no default
    expect(store.find(undefined, rsa.fingerprint)?.fingerprint).toBe(rsa.fingerprint);
    expect(() => store.find('Qbuild Test')).toThrow(/ambiguous/);
  });

  it('refuses v6 keys, non-signing algorithms, and protected keys without a passphrase', async () => {
    const v6 = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'v6@test.invalid' }], config: { v6Keys: true } as never }).catch(() => undefined);
    if (v6) await expect(importArmoredSecretKey(v6.privateKey)).rejects.toThrow(/v6 keys are refused|refused/);
    const ed27 = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ email: 'x@test.invalid' }] });
    await expect(importArmoredSecretKey(ed27.privateKey)).rejects.toThrow(/refused/);
    const protectedKey = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'p@test.invalid' }], passphrase: 'pw' });
    await expect(importArmoredSecretKey(protectedKey.privateKey)).rejects.toThrow(/passphrase/);
    const k = await importArmoredSecretKey(protectedKey.privateKey, 'pw');
    expect(k.userIds).toEqual(['<p@test.invalid>']);
    await expect(importArmoredSecretKey('not a key')).rejects.toThrow(/not an armored/);
    await expect(importArmoredSecretKey(fixture('gpg-rsa.pub.asc'))).rejects.toThrow();
  });
});
