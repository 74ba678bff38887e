import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../helpers/run.js';

export const FIXTURES = new URL('../../fixtures/keys/', import.meta.url);
export const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

/** A throw-away GnuPG home with the fixture public keys imported: the verdict side of tests. */
export class GpgHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'qb-gpg-'));
  get env(): NodeJS.ProcessEnv { return { ...process.env, GNUPGHOME: this.dir }; }

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

  cleanup(): void { rmSync(this.dir, { recursive: true, force: true }); }
}
