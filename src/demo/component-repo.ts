import { mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runTool } from './steps.js';
import type { DevGnupg } from './gnupg.js';

const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Demo Maintainer', GIT_AUTHOR_EMAIL: 'maintainer@qbuild.invalid',
  GIT_COMMITTER_NAME: 'Demo Maintainer', GIT_COMMITTER_EMAIL: 'maintainer@qbuild.invalid',
};

/**
 * A component's upstream repository on the dev box: a work tree where the maintainer commits
 * and signs `v*` tags with real git + GnuPG, pushed to a bare repository the loopback git
 * server serves (what GitHub is in the real world).
 */
export class ComponentRepo {
  constructor(readonly work: string, readonly bare: string, readonly branch = 'main') {}

  private git(args: string[], gnupg?: DevGnupg) {
    const sign = gnupg ? ['-c', `gpg.program=${gnupg.gpgProgram()}`] : [];
    return runTool('git', [...sign, '-c', 'commit.gpgSign=false', ...args], { cwd: this.work, env: { ...process.env, ...GIT_ENV } });
  }

  /** Commits `files` (path → text; executables listed in `exec`) as the next version of the source. */
  async commit(files: Record<string, string>, message: string, exec: readonly string[] = []): Promise<string> {
    if (!existsSync(join(this.work, '.git'))) {
      mkdirSync(this.work, { recursive: true });
      await this.git(['init', '-q', '-b', this.branch]);
    }
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.work, path)), { recursive: true });
      writeFileSync(join(this.work, path), text, { mode: exec.includes(path) ? 0o755 : 0o644 });
    }
    await this.git(['add', '-A']);
    await this.git(['commit', '-q', '--allow-empty', '-m', message]);
    return (await this.git(['rev-parse', 'HEAD'])).stdout.trim();
  }

  /** `git tag -s` by the maintainer whose key is `fpr` in `gnupg`, or an unsigned annotated tag. */
  async tag(name: string, signer?: { gnupg: DevGnupg; fpr: string }): Promise<void> {
    if (signer) await this.git(['tag', '-s', '-u', signer.fpr, '-m', `Version ${name}`, name], signer.gnupg);
    else await this.git(['tag', '-a', '-m', `Version ${name}`, name]);
  }

  /** Pushes the branch and all tags to the served bare repository (created on first push). */
  async push(): Promise<void> {
    if (!existsSync(this.bare)) {
      mkdirSync(dirname(this.bare), { recursive: true });
      await runTool('git', ['init', '-q', '--bare', '-b', this.branch, this.bare], { env: { ...process.env, ...GIT_ENV } });
    }
    await this.git(['push', '-q', '--force', this.bare, `refs/heads/${this.branch}:refs/heads/${this.branch}`, '+refs/tags/*:refs/tags/*']);
  }

  remove(): void {
    rmSync(this.work, { recursive: true, force: true });
    rmSync(this.bare, { recursive: true, force: true });
  }
}
