import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError } from '../errors.js';
import { runTool } from './steps.js';

/**
 * The verdicts of real tools, run as their users run them on the published trees: what a
 * Fedora user's dnf, a Debian user's apt and an auditor's gpgv/rpmkeys say. Each returns the
 * line that shows the verdict, or throws a one-line error with the tool's own words.
 */

/** A binary keyring gpgv reads, from an armored public key. */
async function keyring(keyFile: string, work: string): Promise<string> {
  const out = join(work, `${readdirSync(work).length}-keyring.gpg`);
  await runTool('gpg', ['--batch', '--yes', '--homedir', work, '--output', out, '--dearmor', keyFile]);
  return out;
}

/** `rpmkeys -Kv` in a fresh rpm database holding only `keyFile`: the signature line, which must end OK. */
export async function rpmKeysVerdict(rpm: string, keyFile: string, work: string): Promise<string> {
  const db = join(work, 'rpmdb');
  mkdirSync(db, { recursive: true });
  await runTool('rpmkeys', ['--dbpath', db, '--import', keyFile]);
  const k = await runTool('rpmkeys', ['--dbpath', db, '-Kv', rpm], { allowFail: true });
  const line = k.stdout.split('\n').find((l) => /Signature, key ID/.test(l))?.trim() ?? '';
  if (k.code !== 0 || !/OK$/.test(line) || /NOT OK|NOKEY/.test(k.stdout)) throw new QbuildError('gate', `rpmkeys -K: ${k.stdout.trim() || k.stderr.trim()}`);
  return line;
}

/** `gpgv` with only `keyFile`: the "Good signature" line. `data` absent = an inline/clearsigned file. */
export async function gpgvVerdict(sig: string, data: string | undefined, keyFile: string, work: string): Promise<string> {
  const r = await runTool('gpgv', ['--keyring', await keyring(keyFile, work), sig, ...(data ? [data] : [])], { allowFail: true });
  const good = r.stderr.split('\n').find((l) => l.includes('Good signature'));
  if (r.code !== 0 || !good) throw new QbuildError('gate', `gpgv ${sig}: ${r.stderr.trim()}`);
  return good.replace(/^gpgv:\s*/, '');
}

/**
 * An RPM that only provides /bin/sh, put in the installroot's rpmdb (`--justdb`): what every
 * Fedora system has (bash), so that a package whose scripts need /bin/sh resolves.
 */
async function shellProvider(work: string): Promise<string> {
  const top = join(work, 'shell-provider');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(top, 'SPECS', 'sh.spec'), [
    'Name: fedora-shell-provider', 'Version: 1', 'Release: 1', 'Summary: provides /bin/sh like bash',
    'License: MIT', 'BuildArch: noarch', 'Provides: /bin/sh', '', '%description', 'Stands for bash in an installroot.', '', '%files', '',
  ].join('\n'));
  await runTool('rpmbuild', ['--define', `_topdir ${top}`, '-bb', join(top, 'SPECS', 'sh.spec')]);
  return join(top, 'RPMS', 'noarch', 'fedora-shell-provider-1-1.noarch.rpm');
}

/**
 * A Fedora user's dnf against the published tree: `gpgcheck=1 repo_gpgcheck=1`, the release
 * key as `gpgkey`, no other repository, installing `pkg` with --downloadonly (dnf checks
 * package signatures on install, not on `dnf download`) into an installroot whose rpmdb holds
 * what every Fedora system has (/bin/sh). The path of the package dnf downloaded and verified.
 */
export async function dnfVerdict(repoDir: string, keyFile: string, pkg: string, releasever: string, work: string): Promise<string> {
  const root = join(work, 'dnf-root');
  const reposd = join(work, 'dnf-repos.d');
  const dl = join(work, 'dnf-downloads');
  for (const d of [root, reposd, dl]) mkdirSync(d, { recursive: true });
  await runTool('rpm', ['--root', root, '-i', '--justdb', '--nodeps', '--noscripts', '--nosignature', await shellProvider(work)]);
  writeFileSync(join(reposd, 'qbuild.repo'), [
    '[qbuild-current-testing]', 'name=qbuild current-testing', `baseurl=file://${repoDir}`,
    'enabled=1', 'gpgcheck=1', 'repo_gpgcheck=1', `gpgkey=file://${keyFile}`, '',
  ].join('\n'));
  const r = await runTool('dnf', [
    '-y', '-q', `--installroot=${root}`, `--releasever=${releasever}`, `--setopt=reposdir=${reposd}`,
    `--setopt=cachedir=${join(work, 'dnf-cache')}`, '--setopt=install_weak_deps=False', '--disablerepo=*',
    '--enablerepo=qbuild-current-testing', '--downloadonly', `--downloaddir=${dl}`, 'install', pkg,
  ], { allowFail: true });
  const got = readdirSync(dl).find((n) => n.startsWith(`${pkg}-`) && n.endsWith('.rpm'));
  if (r.code !== 0 || !got) throw new QbuildError('gate', `dnf install --downloadonly ${pkg}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return join(dl, got);
}

/**
 * A Debian user's apt against the published tree: a sources.list line with `signed-by=` the
 * release key, `apt-get update` (which verifies InRelease) and `apt-get download pkg`, in a
 * private apt state (no host sources). The path of the downloaded .deb.
 */
export async function aptVerdict(setDir: string, suite: string, keyFile: string, pkg: string, work: string): Promise<string> {
  const a = join(work, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/preferences.d', 'etc/apt.conf.d', 'dl']) mkdirSync(join(a, d), { recursive: true });
  writeFileSync(join(a, 'status'), '');
  writeFileSync(join(a, 'sources.list'), `deb [signed-by=${keyFile}] file:${setDir} ${suite} main\n`);
  const opts = [
    '-o', `Dir::State=${a}`, '-o', `Dir::State::Lists=${join(a, 'lists')}`, '-o', `Dir::State::status=${join(a, 'status')}`,
    '-o', `Dir::Cache=${join(a, 'cache')}`, '-o', `Dir::Etc::sourcelist=${join(a, 'sources.list')}`, '-o', 'Dir::Etc::sourceparts=-',
    '-o', `Dir::Etc::preferencesparts=${join(a, 'etc/preferences.d')}`, '-o', `Dir::Etc::parts=${join(a, 'etc/apt.conf.d')}`,
    '-o', 'APT::Get::List-Cleanup=0', '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root',
  ];
  const up = await runTool('apt-get', [...opts, 'update'], { allowFail: true });
  if (up.code !== 0 || /^(W|E): /m.test(up.stderr)) throw new QbuildError('gate', `apt-get update: ${(up.stderr || up.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const dl = await runTool('apt-get', [...opts, 'download', pkg], { cwd: join(a, 'dl'), allowFail: true });
  const got = readdirSync(join(a, 'dl')).find((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  if (dl.code !== 0 || !got) throw new QbuildError('gate', `apt-get download ${pkg}: ${(dl.stderr || dl.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return join(a, 'dl', got);
}

/**
 * An auditor's `qbuild verify` on a fresh clone of the logs repository: every check must print
 * `ok`. The summary of the checks passed, or a one-line error with verify's own words.
 */
export async function qbuildVerifyVerdict(bin: string, args: string[]): Promise<string> {
  const r = await runTool(bin, ['verify', ...args], { allowFail: true });
  const ok = r.stdout.split('\n').filter((l) => l.startsWith('ok ')).map((l) => l.slice(3, l.indexOf(':')));
  if (r.code !== 0 || ok.length === 0) throw new QbuildError('verify', `qbuild verify ${args[0]}: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
  return `${ok.length} checks ok (${ok.join(', ')})`;
}
