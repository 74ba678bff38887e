import { join } from 'node:path';
import { QbuildError } from '../../errors.js';
import { loadVmConfig, stateDir } from '../../config.js';
import { DEFAULT_MAX_LINE_BYTES } from '../../protocol/buildlog/format.js';
import { parseListenAddress, type ListenAddress } from '../../util/listen-address.js';

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
}

const KNOWN = new Set([
  'buildVms', 'keysVmFor', 'remote', 'store', 'branch', 'socket', 'listen', 'maxLineBytes', 'maxLogBytes',
  'ticketTtlSeconds', 'noteKeyFile', 'noteKeyName', 'pgpKeyFile', 'committer',
]);

function bad(msg: string): never {
  throw new QbuildError('config', `logs: ${msg}`);
}

function str(s: Record<string, unknown>, key: string, dflt: string): string {
  const v = s[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string' || !v) bad(`"${key}" must be a non-empty string`);
  return v;
}

function int(s: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = s[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`"${key}" must be an integer in [${min}, ${max}]`);
  return v;
}

/**
 * Parses the `logs` section. Rules: unknown keys are refused (a typo must not silently fall
 * back to a default); numbers are integers in range; the listen address must be
 * `host:port`; a missing section means all defaults.
 */
export function parseLogsSettings(vm: string, state: string, raw: unknown): LogsSettings {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) bad('section must be an object');
  const s = (raw ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) bad(`unknown key "${k}"`);
  const buildVms = s.buildVms ?? [];
  if (!Array.isArray(buildVms) || !buildVms.every((x) => typeof x === 'string')) bad('"buildVms" must be a list of names');
  const keysVmFor = s.keysVmFor ?? {};
  if (typeof keysVmFor !== 'object' || keysVmFor === null || Array.isArray(keysVmFor) ||
      !Object.values(keysVmFor).every((x) => typeof x === 'string')) bad('"keysVmFor" must map build VM → keys VM');
  let remote: LogsSettings['remote'] = null;
  if (s.remote !== undefined && s.remote !== null) {
    const r = s.remote as Record<string, unknown>;
    if (typeof r !== 'object' || typeof r.url !== 'string' || !/^https?:\/\//.test(r.url)) bad('"remote.url" must be an http(s) URL');
    if (r.tokenFile !== undefined && r.tokenFile !== null && typeof r.tokenFile !== 'string') bad('"remote.tokenFile" must be a path');
    remote = { url: r.url, tokenFile: (r.tokenFile as string | null | undefined) ?? null };
  }
  let listen: ListenAddress;
  try {
    listen = parseListenAddress(str(s, 'listen', '127.0.0.1:8420'));
  } catch (e) {
    return bad(`"listen": ${(e as Error).message}`);
  }
  const committer = (s.committer ?? {}) as Record<string, unknown>;
  return {
    vm,
    state,
    store: str(s, 'store', join(state, 'store')),
    buildVms: buildVms as string[],
    keysVmFor: keysVmFor as Record<string, string>,
    remote,
    branch: str(s, 'branch', 'main'),
    socket: str(s, 'socket', join(state, 'daemon.sock')),
    listen,
    maxLineBytes: int(s, 'maxLineBytes', DEFAULT_MAX_LINE_BYTES, 80, 16 * 1024 * 1024),
    maxLogBytes: int(s, 'maxLogBytes', 2 * 1024 ** 3, 4096, Number.MAX_SAFE_INTEGER),
    ticketTtlSeconds: int(s, 'ticketTtlSeconds', 86400, 60, 10 * 365 * 86400),
    noteKeyFile: str(s, 'noteKeyFile', join(state, 'note.key')),
    noteKeyName: str(s, 'noteKeyName', `qbuild-logs/${vm}`),
    pgpKeyFile: str(s, 'pgpKeyFile', join(state, 'pgp-secret.asc')),
    committer: {
      name: str(committer, 'name', 'qbuild logs'),
      email: str(committer, 'email', `${vm}@logs.qbuild.invalid`),
    },
  };
}

/** This qube's logs settings (QBUILD_CONFIG / QBUILD_STATE, see src/config.ts). */
export function loadLogsSettings(env: NodeJS.ProcessEnv = process.env): LogsSettings {
  const c = loadVmConfig(env);
  if (c.role !== 'logs') bad(`this VM's role is ${c.role}, not logs`);
  return parseLogsSettings(c.vm, stateDir(env), c.logs);
}
