import { parseDistName, recipesBuildFor, type DistName } from '../../protocol/build/dist.js';
import {
  absolutePathProblem, commandArgvProblem, DEFAULT_BRANCH, DEFAULT_RELEASE, DEFAULT_REPOSITORY, fingerprintProblem,
  OUTPUT_CAP_BYTES, refNameProblem, relativePathProblem, releaseProblem, sourceUrlProblem, TIMEOUT_SECONDS,
} from '../../protocol/build/rules.js';
import type { ComponentJson, ImageRecipeJson, RecipeJson } from '../../protocol/build/section.js';
import type { PillarReader } from './pillar-reader.js';
import { componentProblem, parseByteSize } from './pillar-rules.js';

/**
 * The build keys of the pillar (docs/pillar.md): `build-infra:components` (how each component
 * is fetched, verified and built) and each env's release, dists, signing key, repository and
 * upload targets. Structure and values are checked here; which fingerprints the maintainer
 * keys really hold is checked by pillar-keys.ts (it needs openpgp).
 */

export interface UploadSetting { host: string; path: string }

export interface EnvBuildSettings {
  release: string;
  dists: DistName[];
  /** The keys VM's signing key (upper-case fingerprint); required once the env lists components. */
  signKey?: string;
  /** Relative (to the build qube's state dir) or absolute. */
  repository: string;
  upload: { rpm?: UploadSetting; deb?: UploadSetting };
  /** Days in current-testing before Upload-component may copy a version to current (upstream `min-age-days`; absent: the build role's default, upstream's 5). */
  minAgeDays?: number;
  /** Template recipes (Build-template), by template name. */
  templates?: ImageRecipeJson[];
  /** The installation ISO recipe (Build-iso). */
  iso?: { argv: string[] };
}

export const ENV_BUILD_KEYS = ['release', 'dists', 'sign-key', 'repository', 'upload', 'min-age-days', 'templates', 'iso'] as const;
const COMPONENT_KEYS = ['url', 'branch', 'recipe', 'spec', 'command', 'maintainers', 'min-signatures', 'timeout', 'output-cap'] as const;
const RECIPES = ['rpm', 'deb', 'command'] as const;

function problem(r: PillarReader, path: string, why: string | null): void {
  if (why) r.fail(path, why);
}

/** `source-url-prefix`: an http(s) URL that the component name is appended to. */
export function parseSourceUrlPrefix(r: PillarReader, path: string, value: unknown, dflt: string): string {
  const prefix = r.optStr(path, value) ?? dflt;
  problem(r, path, sourceUrlProblem(prefix));
  return prefix;
}

/** Upper-cased, checked, without repeats: a list of fingerprints. */
function fingerprints(r: PillarReader, path: string, value: unknown): string[] {
  const list = r.strList(path, value);
  if (list.length === 0) r.fail(path, 'must list at least one fingerprint');
  const out = list.map((f) => {
    problem(r, path, fingerprintProblem(f));
    return f.toUpperCase();
  });
  const dup = out.find((f, i) => out.indexOf(f) !== i);
  if (dup) r.fail(path, `${dup} listed twice`);
  return out;
}

/** `build-infra:components`: COMPONENT -> its build settings, in pillar order. */
export function parseComponents(r: PillarReader, path: string, value: unknown, urlPrefix: string): ComponentJson[] {
  if (value === undefined) return [];
  const all = r.anyMap(path, value);
  return Object.keys(all).map((name) => {
    const p = `${path}:${name}`;
    problem(r, p, componentProblem(name));
    const c = r.map(p, all[name], COMPONENT_KEYS);

    const url = r.optStr(`${p}:url`, c.url) ?? `${urlPrefix}${name}`;
    problem(r, `${p}:url`, sourceUrlProblem(url));
    const branch = r.optStr(`${p}:branch`, c.branch) ?? DEFAULT_BRANCH;
    problem(r, `${p}:branch`, refNameProblem(branch));

    const recipes = parseRecipes(r, p, c);

    if (c.maintainers === undefined) r.fail(`${p}:maintainers`, 'missing: the fingerprints whose tag signatures count');
    const maintainers = fingerprints(r, `${p}:maintainers`, c.maintainers);
    const minSignatures = c['min-signatures'] === undefined ? 1 : r.int(`${p}:min-signatures`, c['min-signatures'], 1, maintainers.length);
    const timeoutSeconds = c.timeout === undefined ? TIMEOUT_SECONDS.default : r.int(`${p}:timeout`, c.timeout, 1, TIMEOUT_SECONDS.max);
    let outputCapBytes: number = OUTPUT_CAP_BYTES.default;
    if (c['output-cap'] !== undefined) {
      const raw = c['output-cap'];
      const v = parseByteSize(typeof raw === 'number' ? raw : r.str(`${p}:output-cap`, raw));
      if (typeof v === 'string') r.fail(`${p}:output-cap`, v);
      if (v < OUTPUT_CAP_BYTES.min || v > OUTPUT_CAP_BYTES.max) r.fail(`${p}:output-cap`, 'must be from 1MiB to 1TiB');
      outputCapBytes = v;
    }
    return { name, url, branch, recipes, maintainers, minSignatures, timeoutSeconds, outputCapBytes };
  });
}

/**
 * `recipe`: one of rpm, deb, command, or a list of them, each at most once (`[rpm, deb]`: a
 * component with both rpm_spec/ and debian/ builds each dist by its format). `spec` belongs
 * to the rpm recipe, `command` (required there) to the command recipe; elsewhere they are refused.
 */
function parseRecipes(r: PillarReader, p: string, c: Record<string, unknown>): RecipeJson[] {
  const path = `${p}:recipe`;
  if (c.recipe === undefined) r.fail(path, `missing (one of ${RECIPES.join(', ')}, or a list of them)`);
  const kinds = typeof c.recipe === 'string' ? [c.recipe] : r.strList(path, c.recipe);
  if (kinds.length === 0) r.fail(path, 'must name at least one recipe');
  for (const k of kinds) if (!(RECIPES as readonly string[]).includes(k)) r.fail(path, `${JSON.stringify(k.slice(0, 40))}: must be one of ${RECIPES.join(', ')}`);
  const dup = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (dup) r.fail(path, `"${dup}" listed twice`);
  if (c.spec !== undefined && !kinds.includes('rpm')) r.fail(`${p}:spec`, 'only for recipe rpm');
  if (c.command !== undefined && !kinds.includes('command')) r.fail(`${p}:command`, 'only for recipe command');
  return kinds.map((kind): RecipeJson => {
    if (kind === 'rpm') {
      const spec = r.optStr(`${p}:spec`, c.spec);
      if (spec === undefined) return { kind: 'rpm' };
      problem(r, `${p}:spec`, relativePathProblem(spec));
      if (!spec.endsWith('.spec')) r.fail(`${p}:spec`, 'must name a .spec file');
      return { kind: 'rpm', spec };
    }
    if (kind === 'deb') return { kind: 'deb' };
    if (c.command === undefined) r.fail(`${p}:command`, 'missing: recipe command needs the command line (a list)');
    const argv = r.strList(`${p}:command`, c.command);
    problem(r, `${p}:command`, commandArgvProblem(argv));
    return { kind: 'command', argv };
  });
}

/** An image recipe (`templates:NAME`, `iso`): exactly `{command: [ARGV…]}`, the argv by the command recipe's rule. */
function imageCommand(r: PillarReader, path: string, v: unknown): string[] {
  const m = r.map(path, v, ['command']);
  if (m.command === undefined) r.fail(`${path}:command`, 'missing (the command line, a list)');
  const argv = r.strList(`${path}:command`, m.command);
  problem(r, `${path}:command`, commandArgvProblem(argv));
  return argv;
}

/** An env's build keys (release, dists, sign-key, repository, upload), each checked on its own. */
export function parseEnvBuild(r: PillarReader, p: string, e: Record<string, unknown>): EnvBuildSettings {
  const release = r.optStr(`${p}:release`, e.release) ?? DEFAULT_RELEASE;
  problem(r, `${p}:release`, releaseProblem(release));
  const dists: DistName[] = [];
  if (e.dists !== undefined) {
    for (const n of r.strList(`${p}:dists`, e.dists)) {
      const d = parseDistName(n);
      if (typeof d === 'string') r.fail(`${p}:dists`, d);
      if (dists.some((x) => x.name === n)) r.fail(`${p}:dists`, `"${n}" listed twice`);
      dists.push(d);
    }
  }
  const out: EnvBuildSettings = { release, dists, repository: DEFAULT_REPOSITORY, upload: {} };
  // `min-age-days`: a whole number of days, 0 … 365 (absent: upstream's 5, applied by the build role).
  if (e['min-age-days'] !== undefined) out.minAgeDays = r.int(`${p}:min-age-days`, e['min-age-days'], 0, 365);
  if (e.templates !== undefined) {
    out.templates = Object.entries(r.anyMap(`${p}:templates`, e.templates)).map(([name, v]) => {
      const q = `${p}:templates:${name}`;
      // A template name as the Build-template grammar takes it (it names a directory).
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) r.fail(q, 'a template name is 1-64 characters of A-Z a-z 0-9 _ -');
      // `repository`: where the template goes (upstream's templates-itl / templates-community); builds go to its -testing one.
      const m = r.map(q, v, ['command', 'repository']);
      const argv = imageCommand(r, q, { command: m.command });
      const repository = r.optStr(`${q}:repository`, m.repository);
      if (repository === undefined) return { name, argv };
      if (repository !== 'templates-itl' && repository !== 'templates-community') r.fail(`${q}:repository`, 'must be templates-itl or templates-community');
      return { name, argv, repository };
    });
  }
  if (e.iso !== undefined) out.iso = { argv: imageCommand(r, `${p}:iso`, e.iso) };
  const signKey = r.optStr(`${p}:sign-key`, e['sign-key']);
  if (signKey !== undefined) {
    problem(r, `${p}:sign-key`, fingerprintProblem(signKey));
    out.signKey = signKey.toUpperCase();
  }
  const repo = r.optStr(`${p}:repository`, e.repository);
  if (repo !== undefined) {
    problem(r, `${p}:repository`, repo.startsWith('/') ? absolutePathProblem(repo) : relativePathProblem(repo));
    out.repository = repo;
  }
  if (e.upload !== undefined) {
    const u = r.map(`${p}:upload`, e.upload, ['rpm', 'deb']);
    for (const format of ['rpm', 'deb'] as const) {
      if (u[format] === undefined) continue;
      const q = `${p}:upload:${format}`;
      const t = r.map(q, u[format], ['host', 'path']);
      for (const k of ['host', 'path']) if (t[k] === undefined) r.fail(`${q}:${k}`, 'missing');
      const path = r.str(`${q}:path`, t.path);
      problem(r, `${q}:path`, absolutePathProblem(path));
      out.upload[format] = { host: r.str(`${q}:host`, t.host), path };
    }
  }
  return out;
}

/**
 * What an env's build keys must agree on with the rest of the pillar:
 * - every component the env lists has settings under `build-infra:components`, and its
 *   recipes build for at least one of the env's dists (`command` builds for any);
 * - an env listing components names its dists and its `sign-key`;
 * - an upload target's host is a `remote-hosts` entry (its user and pinned key come from
 *   there), and the env has a dist of that format;
 * - components naming maintainers need `maintainer-keys`.
 */
export function checkBuildRefs(
  r: PillarReader,
  envs: readonly ({ name: string; components: string[] } & EnvBuildSettings)[],
  components: readonly ComponentJson[],
  remoteHosts: readonly string[],
  haveMaintainerKeys: boolean,
): void {
  const byName = new Map(components.map((c) => [c.name, c]));
  for (const env of envs) {
    const p = `build-infra:build-envs:${env.name}`;
    if (env.components.length > 0) {
      if (env.dists.length === 0) r.fail(`${p}:dists`, 'missing: an env that lists components must name its dists');
      if (env.signKey === undefined) r.fail(`${p}:sign-key`, "missing: an env that lists components must name its keys VM's signing key");
    }
    for (const name of env.components) {
      const c = byName.get(name);
      if (!c) r.fail(`${p}:components`, `"${name}" has no settings under build-infra:components`);
      const kinds = c.recipes.map((x) => x.kind);
      if (!env.dists.some((d) => recipesBuildFor(kinds, d.format))) {
        r.fail(`${p}:components`, `"${name}" (recipe ${kinds.join(', ')}) matches none of the env's dists`);
      }
    }
    for (const format of ['rpm', 'deb'] as const) {
      const t = env.upload[format];
      if (!t) continue;
      if (!remoteHosts.includes(t.host)) r.fail(`${p}:upload:${format}:host`, `"${t.host}" is not a build-infra:remote-hosts entry`);
      if (!env.dists.some((d) => d.format === format)) r.fail(`${p}:upload:${format}`, `the env has no ${format} dist`);
    }
  }
  if (components.length > 0 && !haveMaintainerKeys) {
    r.fail('build-infra:maintainer-keys', 'missing: components name maintainers, whose public keys must be given here');
  }
}
