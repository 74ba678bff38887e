import { isAbsolute, join } from 'node:path';
import { parseDistName, recipesBuildFor } from '../../protocol/build/dist.js';
import {
  absolutePathProblem, commandArgvProblem, fingerprintProblem, OUTPUT_CAP_BYTES, refNameProblem, relativePathProblem,
  releaseProblem, reservedComponentProblem, sourceUrlProblem, TIMEOUT_SECONDS,
} from '../../protocol/build/rules.js';
import { checkComponentName } from '../../protocol/github/component.js';
import { githubApiUrlProblem, githubRepoProblem, logsWebUrlProblem } from '../../protocol/github/report-rules.js';
import type { GithubReportJson } from '../../protocol/build/section.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import { checkHostKey, checkHostKeyType, checkSshHost, checkSshUser } from '../../protocol/ssh/rules.js';
import { configPath, loadVmConfig } from '../../config.js';
import { ConfigReader } from '../../util/config-reader.js';
import type { BuildConfig, ComponentConfig, Dist, Recipe, UploadTarget } from './pipeline/types.js';

/** The qube's qbuild.json as src/config.ts loads it: only what this parser reads. */
export interface VmConfig { vm: string; env?: string; [section: string]: unknown }

type Obj = Record<string, unknown>;

/** Upper-case fingerprint by rules.ts fingerprintProblem. */
function fingerprint(r: ConfigReader, key: string, v: unknown): string {
  const f = r.string(key, v);
  r.rule(key, fingerprintProblem(f));
  return f.toUpperCase();
}

const SECTION_KEYS = [
  'logsVm', 'keysVm', 'release', 'dists', 'components', 'maintainerKeys', 'signKey', 'repository', 'upload',
  'sshProxyVm', 'remoteHosts', 'commandsPublicKeys',
] as const;
/** Keys a section may leave out (written by newer provisions only), each with its default in the parser. */
const OPTIONAL_SECTION_KEYS = ['minAgeDays', 'github', 'templates', 'iso', 'executor'] as const;
const COMPONENT_KEYS = ['name', 'url', 'branch', 'recipes', 'maintainers', 'minSignatures', 'timeoutSeconds', 'outputCapBytes'] as const;

function parseRecipe(r: ConfigReader, key: string, v: unknown): Recipe {
  const kind = (v as Obj | null)?.kind;
  if (kind === 'rpm') {
    const o = r.object(key, v, ['kind', 'spec']);
    if (o.spec === undefined) return { kind: 'rpm' };
    const spec = r.string(`${key}.spec`, o.spec);
    r.rule(`${key}.spec`, relativePathProblem(spec));
    return { kind: 'rpm', spec };
  }
  if (kind === 'deb') {
    r.object(key, v, ['kind']);
    return { kind: 'deb' };
  }
  if (kind === 'command') {
    const o = r.object(key, v, ['kind', 'argv']);
    const argv = r.list(`${key}.argv`, o.argv).map((a, i) => {
      if (typeof a !== 'string') r.fail(`${key}.argv[${i}]`, 'must be a string');
      return a;
    });
    r.rule(`${key}.argv`, commandArgvProblem(argv));
    return { kind: 'command', argv };
  }
  return r.fail(`${key}.kind`, 'must be "rpm", "deb" or "command"');
}

function parseComponent(r: ConfigReader, i: number, v: unknown): ComponentConfig {
  const at = `components[${i}]`;
  const c = r.object(at, v, COMPONENT_KEYS);
  for (const k of COMPONENT_KEYS) if (c[k] === undefined) r.fail(`${at}.${k}`, 'missing');
  const name = r.checked(`${at}.name`, () => checkComponentName(r.string(`${at}.name`, c.name)));
  r.rule(`${at}.name`, reservedComponentProblem(name));
  const key = `components.${name}`;
  const url = r.string(`${key}.url`, c.url);
  r.rule(`${key}.url`, sourceUrlProblem(url));
  const branch = r.string(`${key}.branch`, c.branch);
  r.rule(`${key}.branch`, refNameProblem(branch));
  const maintainers = r.list(`${key}.maintainers`, c.maintainers).map((f, j) => fingerprint(r, `${key}.maintainers[${j}]`, f));
  if (maintainers.length === 0) r.fail(`${key}.maintainers`, 'must list at least one fingerprint');
  if (new Set(maintainers).size !== maintainers.length) r.fail(`${key}.maintainers`, 'lists a fingerprint twice');
  const recipes = r.list(`${key}.recipes`, c.recipes).map((x, j) => parseRecipe(r, `${key}.recipes[${j}]`, x));
  if (recipes.length === 0) r.fail(`${key}.recipes`, 'must list at least one recipe');
  if (new Set(recipes.map((x) => x.kind)).size !== recipes.length) r.fail(`${key}.recipes`, 'lists a kind twice');
  return {
    name, url, branch,
    recipes,
    maintainers,
    minSignatures: r.int(`${key}.minSignatures`, c.minSignatures, 1, maintainers.length),
    timeoutSeconds: r.duration(`${key}.timeoutSeconds`, c.timeoutSeconds, 'seconds', 1, TIMEOUT_SECONDS.max),
    outputCapBytes: r.size(`${key}.outputCapBytes`, c.outputCapBytes, OUTPUT_CAP_BYTES.min, OUTPUT_CAP_BYTES.max),
  };
}

function parseRemoteHost(r: ConfigReader, i: number, v: unknown): BuildConfig['remoteHosts'][number] {
  const at = `remoteHosts[${i}]`;
  const h = r.object(at, v, ['host', 'user', 'keyType', 'key']);
  const host = r.checked(`${at}.host`, () => checkSshHost(r.string(`${at}.host`, h.host)));
  const user = r.checked(`${at}.user`, () => checkSshUser(r.string(`${at}.user`, h.user)));
  const keyType = r.checked(`${at}.keyType`, () => checkHostKeyType(r.string(`${at}.keyType`, h.keyType)));
  const key = r.checked(`${at}.key`, () => checkHostKey(keyType, r.string(`${at}.key`, h.key)));
  return { host, user, keyType, key };
}

function parseUpload(r: ConfigReader, key: string, v: unknown, hosts: BuildConfig['remoteHosts']): UploadTarget {
  const t = r.object(key, v, ['host', 'user', 'path']);
  const host = r.string(`${key}.host`, t.host);
  const entry = hosts.find((h) => h.host === host);
  if (!entry) r.fail(`${key}.host`, `"${host}" is not in remoteHosts`);
  const user = r.string(`${key}.user`, t.user);
  if (user !== entry.user) r.fail(`${key}.user`, `"${user}" is not the user remoteHosts names for ${host}`);
  const path = r.string(`${key}.path`, t.path);
  r.rule(`${key}.path`, absolutePathProblem(path));
  return { host, user, path };
}

const GITHUB_KEYS = ['apiUrl', 'tokenFile', 'statusRepo', 'issuesRepo', 'logsUrl', 'retryBaseMs', 'retryMaxMs'] as const;

/**
 * `github` (reporting, docs/reports.md): every key present; API URL, repositories and logs URL
 * by src/protocol/github/report-rules.ts; the token file an absolute path; backoff 10 ms … 1 day,
 * its cap not below its start.
 */
function parseGithub(r: ConfigReader, v: unknown): GithubReportJson {
  const g = r.object('github', v, GITHUB_KEYS);
  for (const k of GITHUB_KEYS) if (g[k] === undefined) r.fail(`github.${k}`, 'missing');
  const apiUrl = r.string('github.apiUrl', g.apiUrl);
  r.rule('github.apiUrl', githubApiUrlProblem(apiUrl));
  const tokenFile = r.string('github.tokenFile', g.tokenFile);
  r.rule('github.tokenFile', absolutePathProblem(tokenFile));
  const statusRepo = r.string('github.statusRepo', g.statusRepo);
  r.rule('github.statusRepo', githubRepoProblem(statusRepo));
  const issuesRepo = r.string('github.issuesRepo', g.issuesRepo);
  r.rule('github.issuesRepo', githubRepoProblem(issuesRepo));
  const logsUrl = r.stringOrNull('github.logsUrl', g.logsUrl);
  if (logsUrl !== null) r.rule('github.logsUrl', logsWebUrlProblem(logsUrl));
  const retryBaseMs = r.duration('github.retryBaseMs', g.retryBaseMs, 'milliseconds', 10, 86_400_000);
  const retryMaxMs = r.duration('github.retryMaxMs', g.retryMaxMs, 'milliseconds', retryBaseMs, 86_400_000);
  return { apiUrl, tokenFile, statusRepo, issuesRepo, logsUrl, retryBaseMs, retryMaxMs };
}

/** An image recipe (`iso`, a template's): exactly `{argv}`, by the command recipe's argv rule. */
function imageArgv(r: ConfigReader, key: string, v: unknown): string[] {
  const o = r.object(key, v, ['argv']);
  const argv = r.list(`${key}.argv`, o.argv).map((a, i) => {
    if (typeof a !== 'string') r.fail(`${key}.argv[${i}]`, 'must be a string');
    return a;
  });
  r.rule(`${key}.argv`, commandArgvProblem(argv));
  return argv;
}

/**
 * `templates`: a list of `{name, argv, repository?}`, names 1-64 of `[A-Za-z0-9_-]` (the
 * Build-template rule), each once; `repository` (where Upload-template normally goes, its
 * `-testing` one where builds are published) is templates-itl or templates-community, absent
 * meaning templates-itl; anything else is refused.
 */
function parseTemplates(r: ConfigReader, v: unknown): { name: string; argv: string[]; repository?: 'templates-itl' | 'templates-community' }[] {
  const out = r.list('templates', v).map((t, i) => {
    const o = r.object(`templates[${i}]`, t, ['name', 'argv', 'repository']);
    const name = r.string(`templates[${i}].name`, o.name);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) r.fail(`templates[${i}].name`, 'must be 1-64 characters of A-Z a-z 0-9 _ -');
    const argv = imageArgv(r, `templates.${name}`, { argv: o.argv });
    if (o.repository === undefined) return { name, argv };
    return { name, argv, repository: r.oneOf(`templates.${name}.repository`, o.repository, ['templates-itl', 'templates-community'] as const) };
  });
  if (new Set(out.map((t) => t.name)).size !== out.length) r.fail('templates', 'lists a template twice');
  return out;
}

/**
 * `executor` (docs/build.md Executors): exactly `{kind: 'dispvm', dvm}`, dvm a qube name; the
 * key absent means local runs. Any other kind is refused (a typo must not quietly run
 * hostile code in the build qube).
 */
function parseExecutor(r: ConfigReader, v: unknown): { kind: 'dispvm'; dvm: string } {
  const o = r.object('executor', v, ['kind', 'dvm']);
  r.oneOf('executor.kind', r.present('executor.kind', o.kind), ['dispvm'] as const);
  const dvm = r.checked('executor.dvm', () => checkVmName(r.string('executor.dvm', r.present('executor.dvm', o.dvm))));
  return { kind: 'dispvm', dvm };
}

/**
 * Parses the `build` section of the build qube's qbuild.json (written by provision, format
 * src/protocol/build/section.ts). The build role does not trust the file: every key is
 * required (provision writes them all) and checked by the same rules as the pillar; unknown
 * keys are refused; names are unique, and so are a component's recipe kinds; each component
 * builds for at least one dist; upload hosts are remote hosts with the same user; an
 * env that builds components has its dists, maintainer keys and signing key. A relative
 * `repository` is resolved under `stateDir`. `signKey` and `maintainerKeys` are '' when the
 * env builds nothing. Messages (src/util/config-reader.ts) name `file` and the key from the
 * file's top: `vm`, `env`, `build.components[0].url`.
 */
export function parseBuildConfig(vmConfig: VmConfig, stateDir: string, file?: string): BuildConfig {
  const top: ConfigReader = new ConfigReader(file);
  const r: ConfigReader = top.under('build');
  const vm = top.checked('vm', () => checkVmName(top.string('vm', vmConfig.vm)));
  const env = top.string('env', vmConfig.env);
  if (!/^[a-z0-9_-]{1,25}$/.test(env)) top.fail('env', 'must be 1-25 characters of a-z 0-9 _ -');
  if (vmConfig.build === undefined) top.fail('build', 'missing (provision writes it)');
  const s = top.object('build', vmConfig.build, [...SECTION_KEYS, ...OPTIONAL_SECTION_KEYS]);
  for (const k of SECTION_KEYS) if (s[k] === undefined) r.fail(k, 'missing');

  const logsVm = r.checked('logsVm', () => checkVmName(r.string('logsVm', s.logsVm)));
  const keysVm = r.checked('keysVm', () => checkVmName(r.string('keysVm', s.keysVm)));
  const sshProxyVm = r.checked('sshProxyVm', () => checkVmName(r.string('sshProxyVm', s.sshProxyVm)));
  const release = r.string('release', s.release);
  r.rule('release', releaseProblem(release));

  const dists: Dist[] = r.list('dists', s.dists).map((n, i) => {
    const d = parseDistName(r.string(`dists[${i}]`, n));
    if (typeof d === 'string') r.fail(`dists[${i}]`, d);
    return d;
  });
  if (new Set(dists.map((d) => d.name)).size !== dists.length) r.fail('dists', 'lists a dist twice');

  const components = r.list('components', s.components).map((c, i) => parseComponent(r, i, c));
  const dup = components.find((c, i) => components.findIndex((x) => x.name === c.name) !== i);
  if (dup) r.fail('components', `"${dup.name}" listed twice`);
  for (const c of components) {
    const kinds = c.recipes.map((x) => x.kind);
    if (!dists.some((d) => recipesBuildFor(kinds, d.format))) r.fail(`components.${c.name}.recipes`, `${kinds.join(', ')} builds for none of the dists`);
  }

  const maintainerKeys = r.stringOrNull('maintainerKeys', s.maintainerKeys);
  const signKey = s.signKey === null ? null : fingerprint(r, 'signKey', s.signKey);
  if (components.length > 0) {
    if (maintainerKeys === null || !maintainerKeys.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
      r.fail('maintainerKeys', 'must be armored public keys when components are listed');
    }
    if (signKey === null) r.fail('signKey', 'missing: components are listed');
  }

  const repository = r.string('repository', s.repository);
  r.rule('repository', isAbsolute(repository) ? absolutePathProblem(repository) : relativePathProblem(repository));

  const remoteHosts = r.list('remoteHosts', s.remoteHosts).map((h, i) => parseRemoteHost(r, i, h));
  if (new Set(remoteHosts.map((h) => h.host)).size !== remoteHosts.length) r.fail('remoteHosts', 'lists a host twice');
  const u = r.object('upload', s.upload, ['rpm', 'deb']);
  const upload: BuildConfig['upload'] = {};
  if (u.rpm !== undefined) upload.rpm = parseUpload(r, 'upload.rpm', u.rpm, remoteHosts);
  if (u.deb !== undefined) upload.deb = parseUpload(r, 'upload.deb', u.deb, remoteHosts);

  return {
    vm, env, logsVm, keysVm, release, dists, components,
    maintainerKeys: maintainerKeys ?? '',
    signKey: signKey ?? '',
    repositoryRoot: isAbsolute(repository) ? repository : join(stateDir, repository),
    upload, sshProxyVm, remoteHosts,
    commandsPublicKeys: r.stringOrNull('commandsPublicKeys', s.commandsPublicKeys),
    ...(s.minAgeDays !== undefined ? { minAgeDays: r.int('minAgeDays', s.minAgeDays, 0, 365) } : {}),
    ...(s.executor !== undefined ? { executor: parseExecutor(r, s.executor) } : {}),
    ...(s.templates !== undefined ? { templates: parseTemplates(r, s.templates) } : {}),
    ...(s.iso !== undefined ? { iso: { argv: imageArgv(r, 'iso', s.iso) } } : {}),
    ...(s.github !== undefined && s.github !== null ? { github: parseGithub(r, s.github) } : {}),
  };
}

/** This build qube's config (QBUILD_CONFIG, see src/config.ts), its path in messages. */
export function loadBuildConfig(stateDir: string, env: NodeJS.ProcessEnv = process.env): BuildConfig {
  return parseBuildConfig(loadVmConfig(env), stateDir, configPath(env));
}
