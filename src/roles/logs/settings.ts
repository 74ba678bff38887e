import { join } from 'node:path';
import { configPath, loadVmConfig, stateDir } from '../../config.js';
import { refNameProblem } from '../../protocol/build/rules.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../protocol/buildlog/format.js';
import { checkVmName } from '../../protocol/qrexec/names.js';
import { ConfigReader } from '../../util/config-reader.js';
import type { ListenAddress } from '../../util/listen-address.js';
import { checkWitnessVkey, type WitnessSetting } from './ledger/witness-client.js';

/**
 * The logs VM's settings: the `logs` section of its qbuild.json (written by provision,
 * src/roles/dom0/config/logs.ts) plus defaults for everything the pillar need not say.
 */
export interface LogsSettings {
  vm: string;
  state: string;
  /** The log store: a git work tree holding `<vm>/[sub/]log_*`. */
  store: string;
  buildVms: string[];
  keysVmFor: Record<string, string>;
  remote: { url: string; tokenFile: string | null } | null;
  branch: string;
  /** Unix socket between the BuildLog service and the daemon. */
  socket: string;
  /** host:port of the live view; loopback by default. */
  listen: ListenAddress;
  maxLineBytes: number;
  maxLogBytes: number;
  ticketTtlSeconds: number;
  /** Ed25519 signed-note key (tickets) and OpenPGP secret key (git commits). */
  noteKeyFile: string;
  noteKeyName: string;
  pgpKeyFile: string;
  committer: { name: string; email: string };
  /** C2SP tlog-witness witnesses each checkpoint is sent to (ledger/witness-client.ts); none by default. */
  witnesses: WitnessSetting[];
  /** How long one add-checkpoint request may take. */
  witnessTimeoutMs: number;
}

const KNOWN = [
  'buildVms', 'keysVmFor', 'remote', 'store', 'branch', 'socket', 'listen', 'maxLineBytes', 'maxLogBytes',
  'ticketTtlSeconds', 'noteKeyFile', 'noteKeyName', 'pgpKeyFile', 'committer', 'witnesses', 'witnessTimeoutMs',
] as const;

/**
 * Parses the `logs` section (src/util/config-reader.ts). Rules: unknown keys are refused (a
 * typo must not silently fall back to a default), in `remote` and `committer` too; build
 * and keys VMs are VM names, each build VM listed once; `remote.url` is http(s);
 * `remote.tokenFile`, `store`, `socket`, `noteKeyFile` and `pgpKeyFile` are absolute paths;
 * `branch` follows git's ref-name rules; `listen` is a listen address; sizes and the ticket
 * lifetime are whole numbers in range; a missing section means all defaults. `file` is the
 * config's path, for messages.
 */
export function parseLogsSettings(vm: string, state: string, raw: unknown, file?: string): LogsSettings {
  const r = new ConfigReader(file);
  const s = raw === undefined ? {} : r.object('logs', raw, KNOWN);
  /** A path key: absent (or null) is the default under the state dir, not a value from the file. */
  const path = (k: 'store' | 'socket' | 'noteKeyFile' | 'pgpKeyFile', dflt: string) => (s[k] ?? null) === null ? dflt : r.absolutePath(`logs.${k}`, s[k]);
  const keysVmFor = r.map('logs.keysVmFor', s.keysVmFor ?? {});
  let remote: LogsSettings['remote'] = null;
  if (s.remote !== undefined && s.remote !== null) {
    const o = r.object('logs.remote', s.remote, ['url', 'tokenFile']);
    const url = r.string('logs.remote.url', o.url);
    if (!/^https?:\/\//.test(url)) r.fail('logs.remote.url', 'must be an http(s) URL');
    remote = { url, tokenFile: (o.tokenFile ?? null) === null ? null : r.absolutePath('logs.remote.tokenFile', o.tokenFile) };
  }
  const branch = r.string('logs.branch', s.branch ?? 'main');
  r.rule('logs.branch', refNameProblem(branch));
  const committer = r.object('logs.committer', s.committer ?? {}, ['name', 'email']);
  return {
    vm,
    state,
    store: path('store', join(state, 'store')),
    buildVms: r.names('logs.buildVms', s.buildVms ?? [], checkVmName),
    keysVmFor: Object.fromEntries(Object.entries(keysVmFor).map(([b, k]) => {
      const at = `logs.keysVmFor.${b}`;
      const keysVm = r.string(at, k);
      return [r.checked(at, () => checkVmName(b)), r.checked(at, () => checkVmName(keysVm))];
    })),
    remote,
    branch,
    socket: path('socket', join(state, 'daemon.sock')),
    listen: r.listen('logs.listen', s.listen ?? '127.0.0.1:8420'),
    maxLineBytes: r.size('logs.maxLineBytes', s.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, 80, 16 * 1024 * 1024),
    maxLogBytes: r.size('logs.maxLogBytes', s.maxLogBytes ?? 2 * 1024 ** 3, 4096),
    ticketTtlSeconds: r.duration('logs.ticketTtlSeconds', s.ticketTtlSeconds ?? 86400, 'seconds', 60, 10 * 365 * 86400),
    noteKeyFile: path('noteKeyFile', join(state, 'note.key')),
    noteKeyName: r.string('logs.noteKeyName', s.noteKeyName ?? `qbuild-logs/${vm}`),
    pgpKeyFile: path('pgpKeyFile', join(state, 'pgp-secret.asc')),
    committer: {
      name: r.string('logs.committer.name', committer.name ?? 'qbuild logs'),
      email: r.string('logs.committer.email', committer.email ?? `${vm}@logs.qbuild.invalid`),
    },
    // Each witness: {url: its http(s) submission prefix, vkey: its C2SP vkey}.
    witnesses: r.list('logs.witnesses', s.witnesses ?? []).map((w, i) => {
      const at = `logs.witnesses[${i}]`;
      const o = r.object(at, w, ['url', 'vkey']);
      const url = r.string(`${at}.url`, o.url);
      if (!/^https?:\/\/[^\s]+$/.test(url)) r.fail(`${at}.url`, 'must be an http(s) URL');
      const vkey = r.string(`${at}.vkey`, o.vkey);
      return { url, vkey: r.checked(`${at}.vkey`, () => checkWitnessVkey(vkey)) };
    }),
    witnessTimeoutMs: r.duration('logs.witnessTimeoutMs', s.witnessTimeoutMs ?? 5000, 'milliseconds', 100, 600_000),
  };
}

/** This qube's logs settings (QBUILD_CONFIG / QBUILD_STATE, see src/config.ts). */
export function loadLogsSettings(env: NodeJS.ProcessEnv = process.env): LogsSettings {
  const c = loadVmConfig(env);
  const file = configPath(env);
  if (c.role !== 'logs') new ConfigReader(file).fail('role', `this VM's role is ${c.role}, not logs`);
  return parseLogsSettings(c.vm, stateDir(env), c.logs, file);
}
