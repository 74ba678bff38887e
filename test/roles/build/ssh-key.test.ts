import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureSshKey, sshKeyPaths } from '../../../src/roles/build/ssh-key.js';
import { run } from '../../helpers/run.js';
import { tempDirs } from '../../helpers/tmp.js';

const tmp = tempDirs('qbuild-sshkey-');

describe('ensureSshKey', () => {
  it('makes one ed25519 key, private 0600, and returns the same one afterwards', async () => {
    const state = tmp();
    const a = await ensureSshKey(state);
    expect(a.privateKey).toBe(join(state, 'ssh', 'id_ed25519'));
    expect(statSync(a.privateKey).mode & 0o777).toBe(0o600);
    expect(statSync(sshKeyPaths(state).dir).mode & 0o777).toBe(0o700);
    expect(a.publicKeyLine).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* qbuild-build$/);
    // ssh-keygen agrees the public line belongs to the private key.
    const derived = await run('ssh-keygen', ['-y', '-f', a.privateKey]);
    expect(derived.code).toBe(0);
    expect(derived.stdout.toString().split(' ').slice(0, 2)).toEqual(a.publicKeyLine.split(' ').slice(0, 2));
    const b = await ensureSshKey(state);
    expect(b).toEqual(a);
    expect(readFileSync(b.privateKey)).toEqual(readFileSync(a.privateKey));
  });

  it('racing first calls agree on one key', async () => {
    const state = tmp();
    const keys = await Promise.all([1, 2, 3, 4].map(() => ensureSshKey(state)));
    for (const k of keys) expect(k.publicKeyLine).toBe(keys[0]!.publicKeyLine);
    const derived = await run('ssh-keygen', ['-y', '-f', keys[0]!.privateKey]);
    expect(derived.stdout.toString().split(' ')[1]).toBe(keys[0]!.publicKeyLine.split(' ')[1]);
  });

  it('derives a lost public key from the private one instead of making a new key', async () => {
    const state = tmp();
    const a = await ensureSshKey(state);
    rmSync(a.publicKey);
    const b = await ensureSshKey(state);
    expect(b.publicKeyLine.split(' ').slice(0, 2)).toEqual(a.publicKeyLine.split(' ').slice(0, 2));
  });
});
