import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.js';

/** The fixture keys made with GnuPG (test/fixtures/keys/). */
export const FIXTURES = new URL('../fixtures/keys/', import.meta.url);
export const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

/** A throw-away GnuPG home (real gpg/gpgv give the verdicts); always pair with cleanup(). */
export class GpgHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'qb-gpg-'));
  get env(): NodeJS.ProcessEnv { return { ...process.env, GNUPGHOME: this.dir }; }

  /** Imports the named fixture public keys. */
  async importPublic(...names: string[]): Promise<void> {
    for (const n of names) {
      const r = await run('gpg', ['--batch', '-q', '--import'], { env: this.env, stdin: fixture(n) });
      if (r.code !== 0) throw new Error(r.stderr);
    }
  }

  /** A keyring file for gpgv holding the fixture public keys. */
  async keyring(...names: string[]): Promise<string> {
    const path = join(this.dir, 'ring.gpg');
    const dearmored = [];
    for (const n of names) {
      const r = await run('gpg', ['--batch', '--dearmor'], { env: this.env, stdin: fixture(n) });
      dearmored.push(r.stdout);
    }
    writeFileSync(path, Buffer.concat(dearmored));
    return path;
  }

  async gpgv(ring: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
    return run('gpgv', ['--keyring', ring, ...args], { env: this.env });
  }

  /** gpg run synchronously in this home, non-interactive, with `passphrase` (default none); throws on failure. */
  gpgSync(args: string[], o: { input?: string; passphrase?: string } = {}): string {
    return execFileSync('gpg', ['--homedir', this.dir, '--batch', '--no-tty', '--passphrase', o.passphrase ?? '', '--pinentry-mode', 'loopback', ...args], {
      input: o.input, stdio: ['pipe', 'pipe', 'pipe'],
    }).toString('utf8');
  }

  /** A new Ed25519 signing key made by gpg here (with `passphrase`, if given): its fingerprint. */
  generateKey(uid: string, passphrase = ''): string {
    this.gpgSync(['--quick-gen-key', uid, 'ed25519', 'sign', 'never'], { passphrase });
    return /^fpr:+([0-9A-F]{40}):/m.exec(this.gpgSync(['--with-colons', '--list-secret-keys', uid]))![1]!;
  }

  /** Stops the agent gpg started for this home (if any), then removes the home. */
  cleanup(): void {
    try { execFileSync('gpgconf', ['--homedir', this.dir, '--kill', 'all'], { stdio: 'ignore' }); } catch { /* no agent */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A throw-away GnuPG home with one Ed25519 signing key: real clearsigned commands for tests. */
export class TestSigner extends GpgHome {
  constructor() {
    super();
    this.generateKey('qbuild test <test@example.invalid>');
  }

  /** `gpg --clearsign` of `text`, exactly as gpg writes it. */
  clearsign(text: string): string {
    return this.gpgSync(['--clearsign', '--digest-algo', 'SHA256'], { input: text });
  }

  /** gpg's verdict on a clearsigned block: true only for a good signature. */
  verifies(block: string): boolean {
    const f = join(this.dir, 'check.asc');
    writeFileSync(f, block);
    try { this.gpgSync(['--verify', f]); return true; } catch { return false; }
  }
}
