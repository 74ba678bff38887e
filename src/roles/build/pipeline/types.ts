import type { ComponentJson, GithubReportJson, RecipeJson, UploadJson } from '../../../protocol/build/section.js';
import type { BuildLogStream } from '../log-stream.js';
import type { Repository } from '../repo/repositories.js';

/**
 * The build pipeline's shared values (docs/build.md). Every stage takes and returns these
 * plain values; the orchestration (run-job.ts) reads top to bottom as the stages.
 */

/** Package format of a distribution: decides the recipe it builds with and its repository shape. */
export type PackageFormat = 'rpm' | 'deb';

/** One distribution of an env, as upstream names it: `host-fc41`, `vm-fc42`, `vm-bookworm`. */
export interface Dist {
  /** The full name, e.g. `vm-fc42`. */
  name: string;
  /** `host` (dom0 packages) or `vm` (template packages). */
  set: 'host' | 'vm';
  /** The distribution proper, e.g. `fc42`, `bookworm`. */
  dist: string;
  format: PackageFormat;
}

/** How a component is built (pillar `recipe`): the same values the build section carries. */
export type Recipe = RecipeJson;

/** A component's build settings: the same values the build section carries (parsed strictly). */
export type ComponentConfig = ComponentJson;

/** An upload target: a `remote-hosts` entry (reached over local.ConnectSSH), its user, an absolute remote path. */
export type UploadTarget = UploadJson;

/** The build VM's configuration, parsed strictly from qbuild.json's `build` section. */
export interface BuildConfig {
  vm: string;
  env: string;
  logsVm: string;
  keysVm: string;
  /** Qubes release, e.g. `r4.3`. */
  release: string;
  dists: Dist[];
  /** The components this env builds, in pillar order. */
  components: ComponentConfig[];
  /** Armored public keys of all maintainers. */
  maintainerKeys: string;
  /** Fingerprint of the keys VM's signing key (what `-u` names for rpmsign, debsign, metadata). */
  signKey: string;
  /** Repository root inside the build qube (relative paths are under the qube's state dir). */
  repositoryRoot: string;
  upload: { rpm?: UploadTarget; deb?: UploadTarget };
  sshProxyVm: string;
  remoteHosts: { host: string; user: string; keyType: string; key: string }[];
  commandsPublicKeys: string | null;
  /** Days a version sits in current-testing before Upload-component may copy it to current (pillar `min-age-days`; absent: upstream's 5). */
  /** Recipes run in a fresh disposable of `dvm` each (docs/build.md Executors); absent: locally. */
  executor?: { kind: 'dispvm'; dvm: string };
  minAgeDays?: number;
  /** Reporting to GitHub (docs/reports.md); absent: off. */
  github?: GithubReportJson;
  /** Template recipes (pillar `templates`), run by Build-template; absent: none. */
  templates?: { name: string; argv: string[]; repository?: 'templates-itl' | 'templates-community' }[];
  /** The ISO recipe (pillar `iso`), run by Build-iso; absent: none. */
  iso?: { argv: string[] };
}

/** What every stage gets from the orchestration. */
export interface StageContext {
  config: BuildConfig;
  /** Environment for child processes in this qube (HOME, PATH, QBUILD_SIM…, QBUILD_CONFIG). */
  env: NodeJS.ProcessEnv;
  /** The qbuild executable (for `%__gpg`/debsign wrappers calling `qbuild sign`). */
  qbuildBin: string;
  /** This job's scratch directory (removed after the job). */
  workDir: string;
  /** Opens a new BuildLog stream for a stage; its first line names stage and job. */
  openLog(stage: string): BuildLogStream;
  /** Aborted when the job must stop (daemon shutting down). */
  signal: AbortSignal;
}

/** The verified source of one job (fetch stage). */
export interface SourceCheckout {
  component: string;
  /** Work tree checked out at `commit` (plain files, no .git). */
  dir: string;
  /** A git directory holding `commit` and its history (the fetched bare repository). */
  gitDir: string;
  commit: string;
  /** e.g. `v4.2.10` */
  tag: string;
  /** The tag without its `v`, e.g. `4.2.10` (may contain `-rel`). */
  version: string;
  /** Fingerprints of the distinct maintainers whose tag signatures verified. */
  signers: string[];
}

export type ArtifactKind = 'rpm' | 'srpm' | 'deb' | 'dsc' | 'changes' | 'buildinfo' | 'source' | 'other';

export interface Artifact {
  /** Absolute path in the job's output directory. */
  path: string;
  kind: ArtifactKind;
}

/** The build stage's result for one dist. */
export interface BuiltDist {
  dist: Dist;
  artifacts: Artifact[];
  /** Path of the build stage's stored log (as the logs VM answered). */
  logPath: string;
}

/** The publish stage's result for one dist. */
export interface PublishedDist {
  dist: Dist;
  /** The repository directory now holding the packages (e.g. …/current-testing/vm/fc42). */
  repoDir: string;
  logPath: string;
  /** Absent for current-testing (every build); current or security-testing for a promotion. */
  repository?: Repository;
}
