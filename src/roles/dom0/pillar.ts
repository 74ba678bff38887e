import { DEFAULT_SOURCE_URL_PREFIX } from '../../protocol/build/rules.js';
import { parseLogsWitnesses, type LogsWitness } from './pillar-logs-witnesses.js';
import type { ComponentJson, GithubReportJson } from '../../protocol/build/section.js';
import { QbuildError } from '../../errors.js';
import type { CommandsSectionJson } from '../../protocol/github/command/authorisation.js';
import { parseVerifierKey } from '../../protocol/note/note.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import { checkHostKey, checkHostKeyType, checkSshHost, checkSshUser } from '../../protocol/ssh/rules.js';
import { checkBuildRefs, ENV_BUILD_KEYS, parseComponents, parseEnvBuild, parseSourceUrlPrefix, type EnvBuildSettings } from './pillar-build.js';
import { checkCommandKeys, parseCommandMaintainers } from './pillar-commands.js';
import { GITHUB_TOP_KEYS, parseGithubReport } from './pillar-github.js';
import { checkMaintainerKeys } from './pillar-keys.js';
import { ENV_LEDGER_KEYS, parseEnvLedger, type EnvLedgerSettings } from './pillar-ledger.js';
import { parsePillarYaml } from './pillar-yaml.js';
import { PillarReader } from './pillar-reader.js';
import {
  componentProblem, envNameProblem, listenProblem, qubePathProblem, remoteUrlProblem,
  saltSafeVmProblem, volumeSizeProblem,
} from './pillar-rules.js';
import { buildVmName, dvmVmName, keysVmName } from './vm-names.js';

/**
 * The pillar, parsed once (docs/pillar.md). Same shape as upstream's `build-infra` pillar
 * (QubesOS/qubes-infrastructure pillar/build-infra/init.sls), plus a few qbuild keys.
 */
export interface Pillar {
  /** The qube facing the internet (webhooks, local.ConnectSSH). Exists already. */
  netvm: string;
  buildTemplate: string;
  buildNetvm: string;
  keysTemplate: string;
  logsTemplate: string;
  logsNetvm: string;
  /** In pillar order. */
  envs: BuildEnv[];
  /** In pillar order. */
  remoteHosts: RemoteHost[];
  /** Upstream `commands_public_keys`: the armored keys allowed to sign GitHub commands. */
  commandsPublicKeys?: string;
  /** `command-maintainers`: what each command signer may ask for (docs/commands.md). */
  commandMaintainers: CommandsSectionJson;
  /** Logs VM → the public key its checkpoints are signed with (given to the keys VMs). */
  logsPublicKeys: Record<string, string>;
  /** Logs VM → where it pushes the logs git repository. */
  logsRemotes: Record<string, { url: string; tokenFile?: string }>;
  /** Logs VM → the C2SP tlog-witnesses it submits checkpoints to (pillar-logs-witnesses.ts); absent: none. */
  logsWitnesses?: Record<string, LogsWitness[]>;
  webhook: { listen: string; secretFile: string };
  /** Prefix a component's name is appended to when it names no `url` (upstream's default). */
  sourceUrlPrefix: string;
  /** Armored OpenPGP public keys of all maintainers. */
  maintainerKeys?: string;
  /** Build settings per component (`build-infra:components`), in pillar order. */
  components: ComponentJson[];
  /** Reporting to GitHub (build_report_repo, build_issues_repo, github-report); absent: off. */
  githubReport?: GithubReportJson;
  /**
   * How keys VMs offer qubes.Gpg and LogReceived: `process` (default: a stub starts
   * `qbuild rpc` per call) or `socket` (the resident `qbuild role keys --serve` daemon behind
   * qrexec socket services; docs/splitgpg.md).
   */
  keysService: 'process' | 'socket';
}

export interface BuildEnv extends EnvBuildSettings, EnvLedgerSettings {
  name: string;
  /** The logs VM this env's build VM streams to. */
  logs: string;
  volumeSize?: string;
  /** Components this env builds (TriggerBuild arguments it accepts); [] when not listed. */
  components: string[];
  /** `ticket` (default, design §6) or the legacy upstream `window`. */
  gate: 'ticket' | 'window';
  /** Where recipes run: absent or `local` in the build qube; `dispvm` in a fresh disposable of dvm-build-ENV each. */
  executor?: 'local' | 'dispvm';
}

export interface RemoteHost { host: string; sshUser: string; sshHostEnc: string; sshHostKey: string }

export const DEFAULTS = {
  netvm: 'sys-net',
  buildTemplate: 'fedora-43-xfce',
  buildNetvm: 'sys-whonix',
  keysTemplate: 'fedora-43-minimal',
  logsTemplate: 'fedora-43-xfce',
  logsNetvm: 'sys-firewall',
  webhookListen: '0.0.0.0:80',
  webhookSecretFile: '/rw/config/qbuild/webhook-secret',
} as const;

const TOP_KEYS = [
  'netvm', 'build-template', 'build-netvm', 'keys-template', 'logs-template', 'logs-netvm',
  'build-envs', 'remote-hosts', 'commands_public_keys',
  // qbuild's own keys (docs/pillar.md):
  'logs-public-keys', 'logs-remote', 'logs-witnesses', 'webhook', 'source-url-prefix', 'maintainer-keys', 'components',
  ...GITHUB_TOP_KEYS,
  'command-maintainers',
  'keys-service',
] as const;

/**
 * Upstream `build-infra` keys that qbuild accepts and ignores, so an upstream pillar still
 * parses. Each is used by an upstream state qbuild replaces: secrets for the upstream scripts
 * (github_api_key, *_ssh_key, openqa_*), the upstream logs VM's gpg/git set-up (logs_*,
 * build_bot_*), and upstream ISO settings. Nothing else is tolerated. (build_report_repo and
 * build_issues_repo are read: pillar-github.ts; the token stays in the build qube, not here.)
 */
const TOP_IGNORED = [
  'github_api_key', 'github_ssh_key', 'mirror_ssh_key', 'openqa_server', 'openqa_key', 'openqa_secret',
  'logs_key_fpr', 'logs_repo', 'logs_repo_public_key', 'build_bot_name', 'build_bot_email', 'iso_base_url',
] as const;

const ENV_KEYS = ['logs', 'volume-size', 'components', 'gate', 'executor', ...ENV_BUILD_KEYS, ...ENV_LEDGER_KEYS] as const;
/**
 * Upstream env keys accepted and ignored: `builders-list` configures upstream qubes-builder
 * checkouts, `builderv2` its disposable builder, `windows` the Windows signing VMs. qbuild
 * builds through its own `build` role.
 */
const ENV_IGNORED = ['builders-list', 'builderv2', 'windows'] as const;

const HOST_KEYS = ['ssh_user', 'ssh_host_enc', 'ssh_host_key'] as const;

/**
 * Parses and checks pillar text, then checks the maintainer keys (parsed with openpgp, so
 * asynchronous) and keeps them as one armored block: what `provision` runs. The first problem
 * is thrown as a one-line 'pillar' error.
 */
export async function loadPillar(text: string, file: string): Promise<Pillar> {
  const pillar = parsePillar(text, file);
  const keys = await checkMaintainerKeys(new PillarReader(file), pillar.maintainerKeys, pillar.components);
  if (keys !== undefined) pillar.maintainerKeys = keys;
  const commandKeys = await checkCommandKeys(new PillarReader(file), pillar.commandsPublicKeys, pillar.commandMaintainers);
  if (commandKeys !== undefined) pillar.commandsPublicKeys = commandKeys;
  return pillar;
}

/** Parses and checks pillar text, all but the maintainer keys' contents (loadPillar does those). */
export function parsePillar(text: string, file: string): Pillar {
  const r = new PillarReader(file);
  const raw = parsePillarYaml(text, file);
  if (raw === null || raw === undefined) r.fail('build-infra', 'missing (the pillar is empty)');
  const top = r.map('(top level)', raw, ['build-infra']);
  if (top['build-infra'] === undefined) r.fail('build-infra', 'missing');
  const P = 'build-infra';
  const bi = r.map(P, top['build-infra'], TOP_KEYS, TOP_IGNORED);

  const vmPref = (key: string, dflt: string, saltSafe = false): string => {
    const path = `${P}:${key}`;
    const v = r.optStr(path, bi[key]) ?? dflt;
    r.check(path, () => checkVmName(v));
    if (saltSafe) problem(r, path, saltSafeVmProblem(v));
    return v;
  };
  const netvm = vmPref('netvm', DEFAULTS.netvm, true);
  const pillar: Pillar = {
    netvm,
    buildTemplate: vmPref('build-template', DEFAULTS.buildTemplate),
    buildNetvm: vmPref('build-netvm', DEFAULTS.buildNetvm),
    keysTemplate: vmPref('keys-template', DEFAULTS.keysTemplate),
    logsTemplate: vmPref('logs-template', DEFAULTS.logsTemplate),
    logsNetvm: vmPref('logs-netvm', DEFAULTS.logsNetvm),
    envs: parseEnvs(r, `${P}:build-envs`, bi['build-envs']),
    remoteHosts: parseHosts(r, `${P}:remote-hosts`, bi['remote-hosts']),
    logsPublicKeys: {},
    logsRemotes: {},
    webhook: parseWebhook(r, `${P}:webhook`, bi.webhook),
    sourceUrlPrefix: parseSourceUrlPrefix(r, `${P}:source-url-prefix`, bi['source-url-prefix'], DEFAULT_SOURCE_URL_PREFIX),
    components: [],
    commandMaintainers: parseCommandMaintainers(r, `${P}:command-maintainers`, bi['command-maintainers']),
    keysService: parseKeysService(r, `${P}:keys-service`, bi['keys-service']),
  };
  const githubReport = parseGithubReport(r, P, bi);
  if (githubReport) pillar.githubReport = githubReport;
  const cpk = r.optStr(`${P}:commands_public_keys`, bi.commands_public_keys);
  if (cpk !== undefined) pillar.commandsPublicKeys = cpk;
  const mk = r.optStr(`${P}:maintainer-keys`, bi['maintainer-keys']);
  if (mk !== undefined) {
    if (!mk.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----') || mk.length > 1024 * 1024) {
      r.fail(`${P}:maintainer-keys`, 'must be armored OpenPGP public keys (-----BEGIN PGP PUBLIC KEY BLOCK-----), at most 1 MiB');
    }
    pillar.maintainerKeys = mk;
  }
  pillar.components = parseComponents(r, `${P}:components`, bi.components, pillar.sourceUrlPrefix);
  checkBuildRefs(r, pillar.envs, pillar.components, pillar.remoteHosts.map((h) => h.host), mk !== undefined);

  const logsVms = new Set(pillar.envs.map((e) => e.logs));
  checkNameClashes(r, pillar);
  pillar.logsPublicKeys = parseLogsPublicKeys(r, `${P}:logs-public-keys`, bi['logs-public-keys'], logsVms);
  pillar.logsRemotes = parseLogsRemotes(r, `${P}:logs-remote`, bi['logs-remote'], logsVms);
  pillar.logsWitnesses = parseLogsWitnesses(r, `${P}:logs-witnesses`, bi['logs-witnesses'], (vm) => logsVms.has(vm));
  return pillar;
}

/** `keys-service` is `process` (absent = process) or `socket`. */
function parseKeysService(r: PillarReader, path: string, value: unknown): 'process' | 'socket' {
  const v = r.optStr(path, value) ?? 'process';
  if (v !== 'process' && v !== 'socket') r.fail(path, 'must be "process" (a qbuild rpc process per call) or "socket" (the resident keys daemon)');
  return v;
}

function problem(r: PillarReader, path: string, why: string | null): void {
  if (why) r.fail(path, why);
}

function parseEnvs(r: PillarReader, path: string, value: unknown): BuildEnv[] {
  if (value === undefined) r.fail(path, 'missing (at least one build environment)');
  const envs = r.anyMap(path, value);
  const names = Object.keys(envs);
  if (names.length === 0) r.fail(path, 'empty (at least one build environment)');
  return names.map((name) => {
    const p = `${path}:${name}`;
    problem(r, p, envNameProblem(name));
    r.check(p, () => checkVmName(buildVmName(name)));
    r.check(p, () => checkVmName(keysVmName(name)));
    const e = r.map(p, envs[name] ?? {}, ENV_KEYS, ENV_IGNORED);
    if (e.logs === undefined) r.fail(`${p}:logs`, `missing: build environment "${name}" must name its logs VM`);
    const logs = r.str(`${p}:logs`, e.logs);
    r.check(`${p}:logs`, () => checkVmName(logs));
    problem(r, `${p}:logs`, saltSafeVmProblem(logs));
    const env: BuildEnv = { name, logs, components: [], gate: 'ticket', ...parseEnvBuild(r, p, e), ...parseEnvLedger(r, p, e) };
    const size = e['volume-size'];
    if (size !== undefined) {
      // Upstream writes sizes as strings (20GiB); a bare number of bytes is accepted too.
      const s = typeof size === 'number' && Number.isInteger(size) ? String(size) : r.str(`${p}:volume-size`, size);
      problem(r, `${p}:volume-size`, volumeSizeProblem(s));
      env.volumeSize = s;
    }
    if (e.components !== undefined) {
      env.components = r.strList(`${p}:components`, e.components);
      for (const c of env.components) problem(r, `${p}:components`, quoteProblem(c, componentProblem(c)));
      const dup = env.components.find((c, i) => env.components.indexOf(c) !== i);
      if (dup) r.fail(`${p}:components`, `"${dup}" listed twice`);
    }
    if (e.gate !== undefined) {
      const g = r.str(`${p}:gate`, e.gate);
      if (g !== 'ticket' && g !== 'window') r.fail(`${p}:gate`, 'must be "ticket" or "window"');
      env.gate = g;
    }
    // `executor`: local (default) | dispvm; with dispvm, dvm-build-ENV must be a valid qube name too.
    if (e.executor !== undefined) {
      const x = r.str(`${p}:executor`, e.executor);
      if (x !== 'local' && x !== 'dispvm') r.fail(`${p}:executor`, 'must be "local" (in the build qube) or "dispvm" (a fresh disposable per recipe)');
      if (x === 'dispvm') r.check(`${p}:executor`, () => checkVmName(dvmVmName(name)));
      env.executor = x;
    }
    return env;
  });
}

function quoteProblem(value: string, why: string | null): string | null {
  return why ? `${JSON.stringify(value.slice(0, 80))}: ${why}` : null;
}

/**
 * `remote-hosts`: HOST -> ssh_user, ssh_host_enc, ssh_host_key, all required. Host, user, key
 * type and key follow the ssh client rules (src/protocol/ssh/rules.ts: lower-case DNS name,
 * login name, a known host key type, a key blob of that type), so the build qubes' ~/.ssh
 * files rendered from them can never carry another directive.
 */
function parseHosts(r: PillarReader, path: string, value: unknown): RemoteHost[] {
  if (value === undefined) return [];
  const hosts = r.anyMap(path, value);
  return Object.keys(hosts).map((host) => {
    const p = `${path}:${host}`;
    r.check(p, () => checkSshHost(host));
    const h = r.map(p, hosts[host], HOST_KEYS);
    for (const k of HOST_KEYS) if (h[k] === undefined) r.fail(`${p}:${k}`, 'missing');
    const sshUser = r.str(`${p}:ssh_user`, h.ssh_user);
    r.check(`${p}:ssh_user`, () => checkSshUser(sshUser));
    const enc = r.str(`${p}:ssh_host_enc`, h.ssh_host_enc);
    const sshHostEnc = r.check(`${p}:ssh_host_enc`, () => checkHostKeyType(enc));
    const sshHostKey = r.str(`${p}:ssh_host_key`, h.ssh_host_key);
    r.check(`${p}:ssh_host_key`, () => checkHostKey(sshHostEnc, sshHostKey));
    return { host, sshUser, sshHostEnc, sshHostKey };
  });
}

function parseWebhook(r: PillarReader, path: string, value: unknown): Pillar['webhook'] {
  const w = value === undefined ? {} : r.map(path, value, ['listen', 'secret-file']);
  const listen = r.optStr(`${path}:listen`, w.listen) ?? DEFAULTS.webhookListen;
  problem(r, `${path}:listen`, listenProblem(listen));
  const secretFile = r.optStr(`${path}:secret-file`, w['secret-file']) ?? DEFAULTS.webhookSecretFile;
  problem(r, `${path}:secret-file`, qubePathProblem(secretFile));
  return { listen, secretFile };
}

/** Keys of logs-public-keys / logs-remote must be logs VMs some env uses. */
function checkLogsVmKey(r: PillarReader, path: string, vm: string, logsVms: Set<string>): void {
  if (!logsVms.has(vm)) r.fail(path, `"${vm}" is not the logs VM of any build environment`);
}

function parseLogsPublicKeys(r: PillarReader, path: string, value: unknown, logsVms: Set<string>): Record<string, string> {
  if (value === undefined) return {};
  const m = r.anyMap(path, value);
  const out: Record<string, string> = {};
  for (const vm of Object.keys(m)) {
    checkLogsVmKey(r, `${path}:${vm}`, vm, logsVms);
    const key = r.str(`${path}:${vm}`, m[vm]);
    if (!key.trim() || key.length > 65536) r.fail(`${path}:${vm}`, 'must be the key text (non-empty, at most 64 KiB)');
    r.check(`${path}:${vm}`, () => checkLogsVerifierKey(key));
    out[vm] = key.trim();
  }
  return out;
}

/** Printed by the logs qube's key ceremony (src/roles/logs/ceremony.ts; roles do not import each other). */
const LOGS_CEREMONY = 'qbuild role logs init --pillar-lines';

/**
 * A `logs-public-keys` entry must be a note verifier key (`name+hash8+base64`, parseVerifierKey:
 * its hash must match its name and key), as the logs qube's key ceremony prints it; anything
 * else would only fail later, in the keys VM, on every ticket.
 */
function checkLogsVerifierKey(key: string): void {
  try {
    parseVerifierKey(key);
  } catch (e) {
    throw new QbuildError('pillar', `not a ticket verifier key (${(e as Error).message}); print it in the logs qube with: ${LOGS_CEREMONY}`);
  }
}

/**
 * Warnings for logs VMs with no `logs-public-keys` entry whose envs use the ticket gate: their
 * keys VMs cannot verify a ticket, so nothing gets signed, until the key is pasted in.
 */
export function missingLogsKeyWarnings(p: Pillar, file: string): string[] {
  const byLogs = new Map<string, string[]>();
  for (const e of p.envs) {
    if (e.gate === 'ticket' && p.logsPublicKeys[e.logs] === undefined) byLogs.set(e.logs, [...(byLogs.get(e.logs) ?? []), keysVmName(e.name)]);
  }
  return [...byLogs].map(([vm, keysVms]) => `${file}: build-infra:logs-public-keys:${vm}: missing: ${keysVms.join(', ')} cannot verify tickets, nothing will be signed; `
    + `in the logs qube ${vm} run \`${LOGS_CEREMONY}\`, paste its output under build-infra: and provision again`);
}

function parseLogsRemotes(r: PillarReader, path: string, value: unknown, logsVms: Set<string>): Pillar['logsRemotes'] {
  if (value === undefined) return {};
  const m = r.anyMap(path, value);
  const out: Pillar['logsRemotes'] = {};
  for (const vm of Object.keys(m)) {
    const p = `${path}:${vm}`;
    checkLogsVmKey(r, p, vm, logsVms);
    const e = r.map(p, m[vm], ['url', 'token-file']);
    if (e.url === undefined) r.fail(`${p}:url`, 'missing');
    const url = r.str(`${p}:url`, e.url);
    problem(r, `${p}:url`, remoteUrlProblem(url));
    const tokenFile = r.optStr(`${p}:token-file`, e['token-file']);
    if (tokenFile !== undefined) problem(r, `${p}:token-file`, qubePathProblem(tokenFile));
    out[vm] = tokenFile === undefined ? { url } : { url, tokenFile };
  }
  return out;
}

/**
 * Every VM qbuild creates (build-ENV, keys-ENV, logs VMs) has its own name: a logs VM may not
 * be called like a build/keys VM, the net qube, a template or a netvm (provisioning would
 * otherwise reconfigure that qube as a logs VM).
 */
function checkNameClashes(r: PillarReader, p: Pillar): void {
  const others = new Map<string, string>([
    [p.netvm, 'build-infra:netvm'], [p.buildTemplate, 'build-infra:build-template'],
    [p.buildNetvm, 'build-infra:build-netvm'], [p.keysTemplate, 'build-infra:keys-template'],
    [p.logsTemplate, 'build-infra:logs-template'], [p.logsNetvm, 'build-infra:logs-netvm'],
  ]);
  for (const e of p.envs) {
    for (const vm of [buildVmName(e.name), keysVmName(e.name), ...(e.executor === 'dispvm' ? [dvmVmName(e.name)] : [])]) {
      const used = others.get(vm);
      if (used) r.fail(`build-infra:build-envs:${e.name}`, `${vm} is also named by ${used}`);
    }
  }
  const created = new Set(p.envs.flatMap((e) => [buildVmName(e.name), keysVmName(e.name), ...(e.executor === 'dispvm' ? [dvmVmName(e.name)] : [])]));
  for (const e of p.envs) {
    const path = `build-infra:build-envs:${e.name}:logs`;
    if (created.has(e.logs)) r.fail(path, `"${e.logs}" is also a build or keys VM`);
    const used = others.get(e.logs);
    if (used) r.fail(path, `"${e.logs}" is also named by ${used}`);
  }
}
