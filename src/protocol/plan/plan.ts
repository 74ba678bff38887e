/**
 * The provisioning plan: everything dom0 creates, as data. `provision` builds it from the
 * pillar and writes it as plan.json next to the rendered formula; the simulator reads the
 * same file, so what is tested locally is what Salt would apply. It is the contract between
 * dom0 (src/roles/dom0/make-plan.ts makes it) and what consumes it: the Salt renderers
 * (src/salt/), the simulator (src/protocol/qrexec/sim/) and each qube reading its VmConfig
 * (src/config.ts). Pure data, so it lives here, below all of them.
 */
/** `dispvm`: a build env's disposable template, whose disposables serve qubesbuilder.RunRecipe. */
export type Role = 'build' | 'keys' | 'logs' | 'sysnet' | 'dispvm';

export interface PlannedVm {
  name: string;
  role: Role;
  /** The build environment this VM belongs to (build/keys); absent for logs and sys-net. */
  env?: string;
  label: 'green' | 'black' | 'red' | 'orange' | 'yellow' | 'gray' | 'blue' | 'purple';
  /** null for a VM that already exists (sys-net): provisioning does not change its template. */
  template: string | null;
  /** true = the VM exists already in Qubes (sys-net): configured, never created. */
  existing?: boolean;
  /** null = no network at all (keys VMs). */
  netvm: string | null;
  volumeSize?: string;
  /** A template for disposables (Qubes `template_for_dispvms`): calls to `@dispvm:NAME` start one. */
  templateForDispvms?: true;
  /** qrexec services this VM offers: one stub each in /usr/local/etc/qubes-rpc/. */
  services: string[];
  /**
   * Those of `services` a daemon serves as qrexec socket services: their rpc entry is a
   * symlink to `<state>/rpc/<service>`, the socket the daemon binds (docs/qrexec.md).
   */
  socketServices?: string[];
  /** Long-running processes, as qbuild argv (e.g. ['role', 'logs', '--serve']). */
  daemons: string[][];
  /** Written to the VM as its qbuild config (see src/config.ts). */
  config: VmConfig;
  /** Files Salt puts in the qube's home (files/<vm>/home/<path>; the simulator copies them too). */
  homeFiles?: HomeFile[];
}

/** A file in /home/user, e.g. `.ssh/config`. `path` is relative, checked plain words (vm-sls). */
export interface HomeFile { path: string; text: string; mode: '0600' | '0644' }

/** Packages a template must have for the qubes based on it (Salt `pkg.installed` in the template). */
export interface PlannedTemplate { name: string; role: Role; packages: string[] }

/** Per-VM configuration, one JSON file in each qube. Each role parses its own section. */
export interface VmConfig {
  vm: string;
  role: Role;
  env?: string;
  /** Role-specific settings; each role validates its own section strictly. */
  [section: string]: unknown;
}

export interface Plan {
  format: 'qbuild-plan-1';
  /** Where the policy file goes in dom0, and its exact text. */
  policy: { path: string; text: string };
  vms: PlannedVm[];
  /** Templates qbuild installs packages into (the build template); absent in older plans. */
  templates?: PlannedTemplate[];
}

/** Layout of a provisioned formula directory (`provision --out DIR`). */
export const FORMULA = {
  plan: 'plan.json',
  policyDir: 'policy.d',
  /** files/<vm>/qubes-rpc/<service>, files/<vm>/qbuild.json and files/<vm>/home/<path> */
  files: 'files',
  rpcDir: 'qubes-rpc',
  vmConfig: 'qbuild.json',
  homeDir: 'home',
  binary: 'files/qbuild',
  salt: 'salt',
  pillar: 'pillar',
} as const;

/** Where things live inside a real qube. */
export const IN_QUBE = {
  binary: '/usr/local/bin/qbuild',
  rpcDir: '/usr/local/etc/qubes-rpc',
  config: '/usr/local/etc/qbuild/qbuild.json',
  state: '/home/user/qbuild',
  home: '/home/user',
} as const;
