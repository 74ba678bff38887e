import { isAbsolute, join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { parseDistName, recipesBuildFor } from '../../protocol/build/dist.js';
import {
  absolutePathProblem, commandArgvProblem, fingerprintProblem, OUTPUT_CAP_BYTES, refNameProblem, relativePathProblem,
  releaseProblem, sourceUrlProblem, TIMEOUT_SECONDS,
} from '../../protocol/build/rules.js';
import { checkComponentName } from '../../protocol/github/component.js';
import { githubApiUrlProblem, githubRepoProblem, logsWebUrlProblem } from '../../protocol/github/report-rules.js';
import type { GithubReportJson } from '../../protocol/build/section.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import { checkHostKey, checkHostKeyType, checkSshHost, checkSshUser } from '../../protocol/ssh/rules.js';
import type { BuildConfig, ComponentConfig, Dist, Recipe, UploadTarget } from './pipeline/types.js';

/** The qube's qbuild.json as src/config.ts loads it: only what this parser reads. */
export interface VmConfig { vm: string; env?: string; [section: string]: unknown }

type Obj = Record<string, unknown>;

function bad(key: string, why: string): never {
  throw new QbuildError('config', `build config: ${key}: ${why}`);
}

function obj(key: string, v: unknown, known: readonly string[]): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(key, 'must be an object');
  for (const k of Object.keys(v)) if (!known.includes(k)) bad(`${key}.${k}`, 'unknown key');
  return v as Obj;
}

function str(key: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') bad(key, 'must be a non-empty string');
  return v;
}

function strOrNull(key: string, v: unknown): string | null {
  return v === null ? null : str(key, v);
}

function list(key: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) bad(key, 'must be a list');
  return v;
}

function int(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) bad(key, `must be a whole number from ${min} to ${max}`);
  return v;
}

function rule(key: string, why: string | null): void {
  if (why) bad(key, why);
}

/** Runs a check that throws its own QbuildError and re-words it with the key. */
function checked<T>(key: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    return bad(key, (e as Error).message);
  }
}

/** Upper-case fingerprint by rules.ts fingerprintProblem. */
function fingerprint(key: string, v: unknown): string {
  const f = str(key, v);
  rule(key, fingerprintProblem(f));
  return f.toUpperCase();
}

const SECTION_KEYS = [
  'logsVm', 'keysVm', 'release', 'dists', 'components', 'maintainerKeys', 'signKey', 'repository', 'upload',
  'sshProxyVm', 'remoteHosts', 'commandsPublicKeys',
] as const;
/** Keys a section may leave out (written by newer provisions only), each with its default in the parser. */
const OPTIONAL_SECTION_KEYS = ['minAgeDays', 'github', 'templates', 'iso'] as const;
const COMPONENT_KEYS = ['name', 'url', 'branch', 'recipes', 'maintainers', 'minSignatures', 'timeoutSeconds', 'outputCapBytes'] as const;

function parseRecipe(key: string, v: unknown): Recipe {
  const kind = (v as Obj | null)?.kind;
  if (kind === 'rpm') {
    const r = obj(key, v, ['kind', 'spec']);
    if (r.spec === undefined) return { kind: 'rpm' };
    const spec = str(`${key}.spec`, r.spec);
    rule(`${key}.spec`, relativePathProblem(spec));
    return { kind: 'rpm', spec };
  }
  if (kind === 'deb') {
    obj(key, v, ['kind']);
    return { kind: 'deb' };
  }
  if (kind === 'command') {
    const r = obj(key, v, ['kind', 'argv']);
    const argv = list(`${key}.argv`, r.argv).map((a, i) => {
      if (typeof a !== 'string') bad(`${key}.argv[${i}]`, 'must be a string');
      return a;
    });
    rule(`${key}.argv`, commandArgvProblem(argv));
    return { kind: 'command', argv };
  }
  return bad(`${key}.kind`, 'must be "rpm", "deb" or "command"');
}

function parseComponent(i: number, v: unknown): ComponentConfig {
  const at = `components[${i}]`;
  const c = obj(at, v, COMPONENT_KEYS);
  for (const k of COMPONENT_KEYS) if (c[k] === undefined) bad(`${at}.${k}`, 'missing');
  const name = checked(`${at}.name`, () => checkComponentName(str(`${at}.name`, c.name)));
  const key = `components.${name}`;
  const url = str(`${key}.url`, c.url);
  rule(`${key}.url`, sourceUrlProblem(url));
  const branch = str(`${key}.branch`, c.branch);
  rule(`${key}.branch`, refNameProblem(branch));
  const maintainers = list(`${key}.maintainers`, c.maintainers).map((f, j) => fingerprint(`${key}.maintainers[${j}]`, f));
  if (maintainers.length === 0) bad(`${key}.maintainers`, 'must list at least one fingerprint');
  if (new Set(maintainers).size !== maintainers.length) bad(`${key}.maintainers`, 'lists a fingerprint twice');
  const recipes = list(`${key}.recipes`, c.recipes).map((x, j) => parseRecipe(`${key}.recipes[${j}]`, x));
  if (recipes.length === 0) bad(`${key}.recipes`, 'must list at least one recipe');
  if (new Set(recipes.map((x) => x.kind)).size !== recipes.length) bad(`${key}.recipes`, 'lists a kind twice');
  return {
    name, url, branch,
    recipes,
    maintainers,
    minSignatures: int(`${key}.minSignatures`, c.minSignatures, 1, maintainers.length),
    timeoutSeconds: int(`${key}.timeoutSeconds`, c.timeoutSeconds, 1, TIMEOUT_SECONDS.max),
    outputCapBytes: int(`${key}.outputCapBytes`, c.outputCapBytes, OUTPUT_CAP_BYTES.min, OUTPUT_CAP_BYTES.max),
  };
}

function parseRemoteHost(i: number, v: unknown): BuildConfig['remoteHosts'][number] {
  const at = `remoteHosts[${i}]`;
  const h = obj(at, v, ['host', 'user', 'keyType', 'key']);
  const host = checked(`${at}.host`, () => checkSshHost(str(`${at}.host`, h.host)));
  const user = checked(`${at}.user`, () => checkSshUser(str(`${at}.user`, h.user)));
  const keyType = checked(`${at}.keyType`, () => checkHostKeyType(str(`${at}.keyType`, h.keyType)));
  const key = checked(`${at}.key`, () => checkHostKey(keyType, str(`${at}.key`, h.key)));
  return { host, user, keyType, key };
}

function parseUpload(key: string, v: unknown, hosts: BuildConfig['remoteHosts']): UploadTarget {
  const t = obj(key, v, ['host', 'user', 'path']);
  const host = str(`${key}.host`, t.host);
  const entry = hosts.find((h) => h.host === host);
  if (!entry) bad(`${key}.host`, `"${host}" is not in remoteHosts`);
  const user = str(`${key}.user`, t.user);
  if (user !== entry.user) bad(`${key}.user`, `"${user}" is not the user remoteHosts names for ${host}`);
  const path = str(`${key}.path`, t.path);
  rule(`${key}.path`, absolutePathProblem(path));
  return { host, user, path };
}

const GITHUB_KEYS = ['apiUrl', 'tokenFile', 'statusRepo', 'issuesRepo', 'logsUrl', 'retryBaseMs', 'retryMaxMs'] as const;

/**
 * `github` (reporting, docs/reports.md): every key present; API URL, repositories and logs URL
 * by src/protocol/github/report-rules.ts; the token file an absolute path; backoff 10 ms … 1 day,
 * its cap not below its start.
 */
function parseGithub(v: unknown): GithubReportJson {
  const g = obj('github', v, GITHUB_KEYS);
  for (const k of GITHUB_KEYS) if (g[k] === undefined) bad(`github.${k}`, 'missing');
  const apiUrl = str('github.apiUrl', g.apiUrl);
  rule('github.apiUrl', githubApiUrlProblem(apiUrl));
  const tokenFile = str('github.tokenFile', g.tokenFile);
  rule('github.tokenFile', absolutePathProblem(tokenFile));
  const statusRepo = str('github.statusRepo', g.statusRepo);
  rule('github.statusRepo', githubRepoProblem(statusRepo));
  const issuesRepo = str('github.issuesRepo', g.issuesRepo);
  rule('github.issuesRepo', githubRepoProblem(issuesRepo));
  const logsUrl = strOrNull('github.logsUrl', g.logsUrl);
  if (logsUrl !== null) rule('github.logsUrl', logsWebUrlProblem(logsUrl));
  const retryBaseMs = int('github.retryBaseMs', g.retryBaseMs, 10, 86_400_000);
  const retryMaxMs = int('github.retryMaxMs', g.retryMaxMs, retryBaseMs, 86_400_000);
  return { apiUrl, tokenFile, statusRepo, issuesRepo, logsUrl, retryBaseMs, retryMaxMs };
}

/** An image recipe (`iso`, a template's): exactly `{argv}`, by the command recipe's argv rule. */
function imageArgv(key: string, v: unknown): string[] {
  const r = obj(key, v, ['argv']);
  const argv = list(`${key}.argv`, r.argv).map((a, i) => {
    if (typeof a !== 'string') bad(`${key}.argv[${i}]`, 'must be a string');
    return a;
  });
  rule(`${key}.argv`, commandArgvProblem(argv));
  return argv;
}

/** `templates`: a list of `{name, argv}`, names 1-64 of `[A-Za-z0-9_-]` (the Build-template rule), each once. */
function parseTemplates(v: unknown): { name: string; argv: string[] }[] {
  const out = list('templates', v).map((t, i) => {
    const o = obj(`templates[${i}]`, t, ['name', 'argv']);
    const name = str(`templates[${i}].name`, o.name);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) bad(`templates[${i}].name`, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
    return { name, argv: imageArgv(`templates.${name}`, { argv: o.argv }) };
  });
  if (new Set(out.map((t) => t.name)).size !== out.length) bad('templates', 'lists a template twice');
  return out;
}

/**
 * Parses the `build` section of the build qube's qbuild.json (written by provision, format
 * src/protocol/build/section.ts). The build role does not trust the file: every key is
 * required (provision writes them all) and checked by the same rules as the pillar; unknown
 * keys are refused; names are unique, and so are a component's recipe kinds; each component
 * builds for at least one dist; upload hosts are remote hosts with the same user; an
 * env that builds components has its dists, maintainer keys and signing key. A relative
 * `repository` is resolved under `stateDir`. `signKey` and `maintainerKeys` are '' when the
 * env builds nothing.
 */
export function parseBuildConfig(vmConfig: VmConfig, stateDir: string): BuildConfig {
  const vm = checked('vm', () => checkVmName(str('vm', vmConfig.vm)));
  const env = str('env', vmConfig.env);
  if (!/^[a-z0-9_-]{1,25}$/.test(env)) bad('env', 'must be 1-25 characters of a-z 0-9 _ -');
  if (vmConfig.build === undefined) bad('build', 'missing (provision writes it)');
  const s = obj('build', vmConfig.build, [...SECTION_KEYS, ...OPTIONAL_SECTION_KEYS]);
  for (const k of SECTION_KEYS) if (s[k] === undefined) bad(k, 'missing');

  const logsVm = checked('logsVm', () => checkVmName(str('logsVm', s.logsVm)));
  const keysVm = checked('keysVm', () => checkVmName(str('keysVm', s.keysVm)));
  const sshProxyVm = checked('sshProxyVm', () => checkVmName(str('sshProxyVm', s.sshProxyVm)));
  const release = str('release', s.release);
  rule('release', releaseProblem(release));

  const dists: Dist[] = list('dists', s.dists).map((n, i) => {
    const d = parseDistName(str(`dists[${i}]`, n));
    if (typeof d === 'string') bad(`dists[${i}]`, d);
    return d;
  });
  if (new Set(dists.map((d) => d.name)).size !== dists.length) bad('dists', 'lists a dist twice');

  const components = list('components', s.components).map((c, i) => parseComponent(i, c));
  const dup = components.find((c, i) => components.findIndex((x) => x.name === c.name) !== i);
  if (dup) bad('components', `"${dup.name}" listed twice`);
  for (const c of components) {
    const kinds = c.recipes.map((x) => x.kind);
    if (!dists.some((d) => recipesBuildFor(kinds, d.format))) bad(`components.${c.name}.recipes`, `${kinds.join(', ')} builds for none of the dists`);
  }

  const maintainerKeys = strOrNull('maintainerKeys', s.maintainerKeys);
  const signKey = s.signKey === null ? null : fingerprint('signKey', s.signKey);
  if (components.length > 0) {
    if (maintainerKeys === null || !maintainerKeys.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      bad('maintainerKeys', 'must be armored public keys when components are listed');
    }
    if (signKey === null) bad('signKey', 'missing: components are listed');
  }

  const repository = str('repository', s.repository);
  rule('repository', isAbsolute(repository) ? absolutePathProblem(repository) : relativePathProblem(repository));

  const remoteHosts = list('remoteHosts', s.remoteHosts).map((h, i) => parseRemoteHost(i, h));
  if (new Set(remoteHosts.map((h) => h.host)).size !== remoteHosts.length) bad('remoteHosts', 'lists a host twice');
  const u = obj('upload', s.upload, ['rpm', 'deb']);
  const upload: BuildConfig['upload'] = {};
  if (u.rpm !== undefined) upload.rpm = parseUpload('upload.rpm', u.rpm, remoteHosts);
  if (u.deb !== undefined) upload.deb = parseUpload('upload.deb', u.deb, remoteHosts);

  return {
    vm, env, logsVm, keysVm, release, dists, components,
    maintainerKeys: maintainerKeys ?? '',
    signKey: signKey ?? '',
    repositoryRoot: isAbsolute(repository) ? repository : join(stateDir, repository),
    upload, sshProxyVm, remoteHosts,
    commandsPublicKeys: strOrNull('commandsPublicKeys', s.commandsPublicKeys),
    ...(s.minAgeDays !== undefined ? { minAgeDays: int('minAgeDays', s.minAgeDays, 0, 365) } : {}),
    ...(s.templates !== undefined ? { templates: parseTemplates(s.templates) } : {}),
    ...(s.iso !== undefined ? { iso: { argv: imageArgv('iso', s.iso) } } : {}),
    ...(s.github !== undefined && s.github !== null ? { github: parseGithub(s.github) } : {}),
  };
}
