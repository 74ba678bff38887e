import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GpgHome } from './gpg.js';

/** A component maintainer: a v4 Ed25519 key made by GnuPG; the secret key stays in MaintainerKeys.gpg. */
export interface Maintainer {
  name: string;
  email: string;
  /** Primary key fingerprint, 40 upper-case hex. */
  fingerprint: string;
  /** Armored public key as exported now (after `revoke`, it carries the revocation). */
  publicKey: string;
  /** `--faked-system-time` the key lives at (an expired key signs in its own past). */
  fakedTime?: string;
  /** Signing subkey fingerprint, when signatures are made by a subkey (withSigningSubkey). */
  subkey?: string;
}

/**
 * One throw-away GnuPG home holding every maintainer's secret key (real `gpg --quick-gen-key`).
 * `expired` makes a key created on 2020-01-01 that expired a day later; signatures with it are
 * made in that past. Always pair with cleanup() (stops the agent, removes the home).
 */
export class MaintainerKeys {
  readonly gpg = new GpgHome();

  create(name: string, opts: { expired?: boolean } = {}): Maintainer {
    const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@example.invalid`;
    const uid = `${name} <${email}>`;
    const fakedTime = opts.expired ? '20200101T120000!' : undefined;
    const faked = fakedTime ? ['--faked-system-time', '20200101T000000!'] : [];
    this.gpg.gpgSync([...faked, '--quick-gen-key', uid, 'ed25519', 'sign', opts.expired ? '1d' : 'never']);
    const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(this.gpg.gpgSync(['--with-colons', '--list-secret-keys', `<${email}>`]))![1]!;
    return { name, email, fingerprint, publicKey: this.exportPublic(fingerprint), ...(fakedTime ? { fakedTime } : {}) };
  }

  /** Revokes the key with the revocation certificate gpg made at generation; the new public key. */
  revoke(m: Maintainer): Maintainer {
    const cert = readFileSync(join(this.gpg.dir, 'openpgp-revocs.d', `${m.fingerprint}.rev`), 'utf8')
      .replace(/^:-----BEGIN/m, '-----BEGIN');
    this.gpg.gpgSync(['--import'], { input: cert });
    return { ...m, publicKey: this.exportPublic(m.fingerprint) };
  }

  /** Adds an Ed25519 signing subkey; the maintainer then signs with it (not the primary key). */
  withSigningSubkey(m: Maintainer): Maintainer {
    this.gpg.gpgSync(['--quick-add-key', m.fingerprint, 'ed25519', 'sign', 'never']);
    const fprs = [...this.gpg.gpgSync(['--with-colons', '--list-keys', m.fingerprint]).matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((x) => x[1]!);
    return { ...m, subkey: fprs[fprs.length - 1]!, publicKey: this.exportPublic(m.fingerprint) };
  }

  /** The armored public keys of `ms`, one block after the other (the pillar's key list). */
  armored(...ms: Maintainer[]): string {
    return ms.map((m) => m.publicKey).join('');
  }

  /** A `gpg.program` for git that signs in this home (in the key's faked time, if any). */
  gpgProgram(m?: Maintainer): string {
    const file = join(this.gpg.dir, `gpg-${m?.fingerprint ?? 'now'}.sh`);
    const faked = m?.fakedTime ? ` --faked-system-time '${m.fakedTime}'` : '';
    writeFileSync(file, `#!/bin/sh\nexec gpg --homedir '${this.gpg.dir}' --batch --pinentry-mode loopback --passphrase ''${faked} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  cleanup(): void { this.gpg.cleanup(); }

  private exportPublic(fpr: string): string {
    return this.gpg.gpgSync(['--armor', '--export', fpr]);
  }
}

/** One tag of a fixture repo. */
export interface TagSpec {
  /** e.g. `v1.0.0` */
  name: string;
  /**
   * Who signs: none = an unsigned annotated tag (`git tag -a`); one = `git tag -s`; two or more
   * = ONE tag whose signature block holds all their signatures (invalid upstream).
   */
  signers: Maintainer[];
  /** A lightweight tag (no tag object; `signers` ignored). */
  lightweight?: boolean;
  /** After signing, change the tag's message and keep the old signature (a tampered tag). */
  tamper?: boolean;
}

export interface ComponentRepoSpec {
  keys: MaintainerKeys;
  /** Directory the git server serves; the bare repo becomes `<root>/<name>`. */
  root: string;
  /** Bare repository name, e.g. `app.git`. */
  name: string;
  files: Record<string, string>;
  /** Paths in `files` committed as executable (mode 100755). */
  executable?: string[];
  tags: TagSpec[];
  /** Default `main`. */
  branch?: string;
  /** Adds a commit after the tags, so they no longer point at the branch head. */
  commitAfterTags?: boolean;
}

export interface ComponentRepo {
  /** Path of the bare repository. */
  bare: string;
  /** The commit the tags point at. */
  tagged: string;
  /** The branch head (equals `tagged` unless `commitAfterTags`). */
  head: string;
}

const GIT_ENV = {
  GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Fixture Author', GIT_AUTHOR_EMAIL: 'author@example.invalid',
  GIT_COMMITTER_NAME: 'Fixture Author', GIT_COMMITTER_EMAIL: 'author@example.invalid',
};

/**
 * A component's git repository made with real `git commit` and `git tag -s` (gpg.program =
 * gpg in the maintainers' home), pushed to a fresh bare repository under `root`.
 */
export function makeComponentRepo(spec: ComponentRepoSpec): ComponentRepo {
  const work = mkdtempSync(join(tmpdir(), 'qb-repo-'));
  try {
    const branch = spec.branch ?? 'main';
    const git = (args: string[], o: { input?: string; gpg?: string; env?: NodeJS.ProcessEnv } = {}) => execFileSync('git', [
      '-c', `gpg.program=${o.gpg ?? spec.keys.gpgProgram()}`, '-c', 'tag.gpgSign=false', '-c', 'commit.gpgSign=false', ...args,
    ], { cwd: work, env: { ...process.env, ...GIT_ENV, ...o.env }, input: o.input, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8').trim();

    git(['init', '-q', '-b', branch]);
    for (const [path, text] of Object.entries(spec.files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text, { mode: spec.executable?.includes(path) ? 0o755 : 0o644 });
    }
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'Fixture source']);
    const tagged = git(['rev-parse', 'HEAD']);
    for (const t of spec.tags) makeTag(git, spec.keys, t);
    if (spec.commitAfterTags) {
      writeFileSync(join(work, 'AFTER-TAG'), 'a commit after the tags\n');
      git(['add', 'AFTER-TAG']);
      git(['commit', '-q', '-m', 'Untagged change']);
    }
    const head = git(['rev-parse', 'HEAD']);
    const bare = join(spec.root, spec.name);
    rmSync(bare, { recursive: true, force: true });
    execFileSync('git', ['init', '-q', '--bare', '-b', branch, bare], { env: { ...process.env, ...GIT_ENV } });
    git(['push', '-q', bare, `refs/heads/${branch}:refs/heads/${branch}`, 'refs/tags/*:refs/tags/*']);
    return { bare, tagged, head };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

type Git = (args: string[], o?: { input?: string; gpg?: string; env?: NodeJS.ProcessEnv }) => string;

function makeTag(git: Git, keys: MaintainerKeys, t: TagSpec): void {
  const message = `Version ${t.name}`;
  if (t.lightweight) { git(['tag', t.name]); return; }
  if (t.signers.length === 0) { git(['tag', '-a', '-m', message, t.name]); return; }
  if (t.signers.length === 1) {
    const [m] = t.signers as [Maintainer];
    // `!` makes gpg use exactly that (sub)key.
    git(['tag', '-s', '-u', m.subkey ? `${m.subkey}!` : m.fingerprint, '-m', message, t.name], { gpg: keys.gpgProgram(m) });
  } else {
    // One detached armored block holding every signer's signature, appended as git would.
    const payload = `object ${git(['rev-parse', 'HEAD'])}\ntype commit\ntag ${t.name}\ntagger Fixture Author <author@example.invalid> ${Math.floor(Date.now() / 1000)} +0000\n\n${message}\n`;
    const sig = keys.gpg.gpgSync(['--detach-sign', '--armor', ...t.signers.flatMap((m) => ['-u', m.fingerprint])], { input: payload });
    const oid = git(['mktag'], { input: payload + sig });
    git(['update-ref', `refs/tags/${t.name}`, oid]);
  }
  if (t.tamper) {
    const raw = git(['cat-file', 'tag', t.name]) + '\n';
    const forged = raw.replace(`\n\n${message}\n`, `\n\n${message} (changed after signing)\n`);
    const oid = git(['hash-object', '-t', 'tag', '-w', '--stdin'], { input: forged });
    git(['update-ref', `refs/tags/${t.name}`, oid]);
  }
}
