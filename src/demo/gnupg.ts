import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool, type Ran } from './steps.js';

/**
 * A GnuPG home of the dev box (a release engineer's or a maintainer's machine in the real
 * world): real gpg makes the keys the demo provisions; never used by any qube.
 */
export class DevGnupg {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  gpg(args: string[], input?: string): Promise<Ran> {
    return runTool('gpg', ['--homedir', this.dir, '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], input !== undefined ? { input } : {});
  }

  /** A v4 Ed25519 signing key (GnuPG 2.2 reads it); its fingerprint. */
  async newKey(uid: string): Promise<string> {
    await this.gpg(['--quick-gen-key', uid, 'ed25519', 'sign', '2y']);
    const out = (await this.gpg(['--with-colons', '--list-secret-keys', uid])).stdout;
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(out)?.[1];
    if (!fpr) throw new Error(`gpg made no key for ${uid}`);
    return fpr;
  }

  async exportPublic(fpr: string): Promise<string> {
    return (await this.gpg(['--armor', '--export', fpr])).stdout;
  }

  async exportSecret(fpr: string): Promise<string> {
    return (await this.gpg(['--armor', '--export-secret-keys', fpr])).stdout;
  }

  /** A `gpg.program` for git that signs in this home. */
  gpgProgram(): string {
    const file = join(this.dir, 'gpg-for-git.sh');
    writeFileSync(file, `#!/bin/sh\nexec gpg --homedir '${this.dir}' --batch --pinentry-mode loopback --passphrase '' "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  /** Stops the agent gpg started for this home. */
  async stop(): Promise<void> {
    await runTool('gpgconf', ['--homedir', this.dir, '--kill', 'all'], { allowFail: true });
  }
}
