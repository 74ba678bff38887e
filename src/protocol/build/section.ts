/**
 * The `build` section of a build qube's qbuild.json: what `qbuild provision` writes
 * (src/roles/dom0/config/build.ts) and the build role parses strictly (src/roles/build/config.ts).
 * Plain JSON values only; everything the pillar left unset is already filled with its default.
 */
export type RecipeJson =
  | { kind: 'rpm'; spec?: string }
  | { kind: 'deb' }
  | { kind: 'command'; argv: string[] };

export interface ComponentJson {
  name: string;
  /** Smart HTTP(S) git URL. */
  url: string;
  branch: string;
  /** One per package format it builds by (at most one of each kind), in pillar order. */
  recipes: RecipeJson[];
  /** Upper-case 40-hex fingerprints, each a key in `maintainerKeys`, whose tag signatures count. */
  maintainers: string[];
  /** Distinct maintainers that must have signed a `v*` tag on the branch head (N of M). */
  minSignatures: number;
  /** Recipe timeout (upstream default 6 h). */
  timeoutSeconds: number;
  /** Recipe output past this many bytes is not streamed and fails the build. */
  outputCapBytes: number;
}

export interface UploadJson { host: string; user: string; path: string }

export interface RemoteHostJson { host: string; user: string; keyType: string; key: string }

/** Reporting to GitHub (docs/reports.md): where and how the build VM reports; absent or null: reporting off. */
export interface GithubReportJson {
  /** REST API base URL (`https://api.github.com`). */
  apiUrl: string;
  /** File in the build qube holding the API token. */
  tokenFile: string;
  /** `owner/name` of the status repository (upstream build_report_repo). */
  statusRepo: string;
  /** `owner/name` of the issue tracker (upstream build_issues_repo). */
  issuesRepo: string;
  /** Web URL prefix of the published logs repository; null: comments carry no log links. */
  logsUrl: string | null;
  /** Backoff of a report that failed: first wait, doubled up to the second. */
  retryBaseMs: number;
  retryMaxMs: number;
}

/** A template's recipe (pillar `templates:NAME:command`) and its repository (`templates:NAME:repository`; absent: templates-itl). */
export interface ImageRecipeJson { name: string; argv: string[]; repository?: 'templates-itl' | 'templates-community' }

/** Where recipes run (docs/build.md Executors); absent: locally in the build qube. */
export interface ExecutorJson { kind: 'dispvm'; dvm: string }

export interface BuildSectionJson {
  /** Where `qubesbuilder.BuildLog` ends up (the call itself goes to dom0, which redirects). */
  logsVm: string;
  keysVm: string;
  release: string;
  /** Dist names (`host-fc41`, `vm-bookworm`), in pillar order. */
  dists: string[];
  /** The components this env builds, in pillar order, with their settings. */
  components: ComponentJson[];
  /** Armored public keys of all maintainers; null when the pillar names none. */
  maintainerKeys: string | null;
  /** The keys VM's signing key (upper-case fingerprint); null when the env builds nothing. */
  signKey: string | null;
  /** Repository root as the pillar gives it: relative (to the qube's state dir) or absolute. */
  repository: string;
  upload: { rpm?: UploadJson; deb?: UploadJson };
  /** The qube offering local.ConnectSSH. */
  sshProxyVm: string;
  /** Hosts reachable over local.ConnectSSH, with their pinned host keys. */
  remoteHosts: RemoteHostJson[];
  /** Armored OpenPGP keys trusted to sign GitHub commands (upstream commands_public_keys). */
  commandsPublicKeys: string | null;
  /** Days a version sits in current-testing before Upload-component may copy it to current; absent: 5. */
  minAgeDays?: number;
  /** Recipes in a fresh disposable of `dvm` each (pillar `executor: dispvm`); absent: local. */
  executor?: ExecutorJson;
  /** Template recipes (Build-template); absent: none. */
  templates?: ImageRecipeJson[];
  /** The installation ISO recipe (Build-iso); absent: none. */
  iso?: { argv: string[] };
  /** Reporting to GitHub; absent or null: off. */
  github?: GithubReportJson | null;
}
