import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QbuildError, oneLine } from '../../errors.js';

const run = promisify(execFile);

export interface SshKey {
  /** The private key (0600): what ssh's IdentityFile names. */
  privateKey: string;
  publicKey: string;
  /** `ssh-ed25519 AAAA… comment`: the line the operator adds to the remote authorized_keys. */
  publicKeyLine: string;
}

/** Where the build qube's upload key lives, under its state dir. */
export function sshKeyPaths(stateDir: string): { dir: string; privateKey: string; publicKey: string } {
  const dir = join(stateDir, 'ssh');
  return { dir, privateKey: join(dir, 'id_ed25519'), publicKey: join(dir, 'id_ed25519.pub') };
}

/**
 * The build qube's ssh key for uploads: made once with ssh-keygen (ed25519, no passphrase: a
 * daemon uses it, and the qube's state is its only protection, as upstream's build VM), then
 * reused. It is made in a private temp dir and linked into place, so a crash never leaves a
 * half-written key that a later run would trust; a .pub lost (or not yet written by a racing
 * call) is derived again from the key.
 */
export async function ensureSshKey(stateDir: string, comment = 'qbuild-build'): Promise<SshKey> {
  const p = sshKeyPaths(stateDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  try {
    if (!existsSync(p.privateKey)) {
      const tmp = mkdtempSync(join(p.dir, '.new-'));
      try {
        await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', join(tmp, 'key')]);
        // link() never replaces: of two racing first calls, one key wins and both use it.
        try { linkSync(join(tmp, 'key'), p.privateKey); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
        if (readFileSync(p.privateKey).equals(readFileSync(join(tmp, 'key')))) renameSync(join(tmp, 'key.pub'), p.publicKey);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    if (!existsSync(p.publicKey)) {
      const { stdout } = await run('ssh-keygen', ['-y', '-f', p.privateKey]);
      const tmp = `${p.publicKey}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(tmp, `${stdout.trim()}\n`, { mode: 0o644 });
      renameSync(tmp, p.publicKey);
    }
  } catch (e) {
    throw new QbuildError('io', `cannot make the build qube's ssh key in ${p.dir}: ${oneLine((e as { stderr?: string }).stderr || e)}`);
  }
  return { privateKey: p.privateKey, publicKey: p.publicKey, publicKeyLine: readFileSync(p.publicKey, 'utf8').trim() };
}
