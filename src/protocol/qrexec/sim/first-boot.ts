import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { Plan } from '../../plan/plan.js';
import { parseListenAddress } from '../../../util/listen-address.js';
import { generateNoteKey, parseSignerKey, verifierKeyOf } from '../../note/note.js';
import { simPaths } from './layout.js';

type Config = Record<string, unknown> & { vm: string; role: string };
type Section = Record<string, unknown>;

/**
 * What an operator does by hand inside fresh real qubes, done by `sim up` inside the simulated
 * ones (each step says what it did): sys-net's webhook secret is created when its file is
 * missing; the logs qube's ticket key is created when missing and its verifier key goes to
 * the keys qubes that have none; listeners a pillar puts on every address (`0.0.0.0`, `::`,
 * for the real sys-net) bind 127.0.0.1 on a free port instead, or on the port `ports` names. Works on the qube's copied
 * config (materialise), never on the formula; secrets and keys persist in the qube's dir.
 */
/** `sim up --webhook-port/--live-view-port`: that loopback port instead of the config's listen. */
export interface SimPorts { webhook?: number; liveView?: number }

/**
 * A port given on the command line. Rule: a decimal integer 0–65535 (0: any free port,
 * printed once bound).
 */
export function parsePort(flag: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new QbuildError('usage', `--${flag} must be a port 0-65535, not ${JSON.stringify(text)}`);
  return Number(text);
}

export function firstBoot(formula: string, plan: Plan, ports: SimPorts = {}): string[] {
  const paths = simPaths(formula);
  const notes: string[] = [];
  const configs = new Map<string, Config>();
  for (const vm of plan.vms) configs.set(vm.name, readConfig(paths.qube(vm.name).config));
  for (const [vm, c] of configs) {
    const q = paths.qube(vm);
    if (c.role === 'sysnet') {
      const s = section(c, 'sysnet');
      listenOn(s, ports.webhook, vm, notes);
      const secret = qubeSecret(q.dir, s, 'secretFile', join(q.state, 'webhook-secret'), () => `${randomBytes(32).toString('hex')}\n`);
      if (secret.created) notes.push(`${vm}: created a random webhook secret in ${secret.file} (0600): give GitHub the same`);
    }
    if (c.role === 'logs') {
      const s = section(c, 'logs');
      listenOn(s, ports.liveView, vm, notes);
      const name = typeof s.noteKeyName === 'string' && s.noteKeyName ? s.noteKeyName : `qbuild-logs/${vm}`;
      const key = qubeSecret(q.dir, s, 'noteKeyFile', join(q.state, 'note.key'), () => `${generateNoteKey(name).signerKey}\n`);
      const file = key.file;
      if (key.created) notes.push(`${vm}: created the ticket signing key ${file}`);
      const verifier = readVerifier(file);
      const given: string[] = [];
      for (const [kvm, kc] of configs) {
        if (kc.role !== 'keys') continue;
        const k = section(kc, 'keys');
        if (k.logsVm !== vm || (typeof k.logsPublicKey === 'string' && k.logsPublicKey)) continue;
        k.logsPublicKey = verifier;
        given.push(kvm);
      }
      if (given.length) notes.push(`${vm}: gave its ticket verifier key to ${given.join(', ')} (${verifier})`);
    }
  }
  for (const [vm, c] of configs) writeFileSync(paths.qube(vm).config, `${JSON.stringify(c, null, 2)}\n`);
  return notes;
}

function readConfig(path: string): Config {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Config;
  } catch (e) {
    throw new QbuildError('config', `cannot read ${path}: ${(e as Error).message}`);
  }
}

function section(c: Config, name: string): Section {
  const s = c[name];
  if (!s || typeof s !== 'object' || Array.isArray(s)) return (c[name] = {});
  return s as Section;
}

/**
 * A `listen` on a wildcard address (0.0.0.0, ::) becomes 127.0.0.1:0: a dev box must not
 * expose the simulated qubes, and a pillar's fixed port (80) may be taken or privileged.
 * Other addresses are the operator's choice and stay; an unparsable one is left for the
 * daemon to refuse with its own message.
 */
function loopback(s: Section, vm: string, notes: string[]): void {
  if (typeof s.listen !== 'string') return;
  let host: string;
  try { host = parseListenAddress(s.listen).host; } catch { return; }
  if (!/^(0\.0\.0\.0|::|0*:(0*:)*0*)$/.test(host)) return;
  notes.push(`${vm}: listens on 127.0.0.1 (a free port) instead of ${s.listen}`);
  s.listen = '127.0.0.1:0';
}

/**
 * A path in a qube's config, as the simulated qube sees it: an existing file (one a test made)
 * or a path inside the qube's dir stays; another absolute path (`/rw/config/…` of a real
 * qube) is taken inside the qube's dir, `<qube>/root/…`, so nothing is written to the host's.
 */
function insideQube(qubeDir: string, path: string): string {
  if (!isAbsolute(path) || existsSync(path) || !relative(qubeDir, path).startsWith('..')) return path;
  return join(qubeDir, 'root', path);
}

/** The listen address: the port `port` names on loopback, else the config's (wildcards made loopback). */
function listenOn(s: Section, port: number | undefined, vm: string, notes: string[]): void {
  if (port !== undefined) s.listen = `127.0.0.1:${port}`;
  else loopback(s, vm, notes);
}

/**
 * The secret file `s[key]` names (else `dflt`), inside the qube (insideQube; the config is
 * rewritten to that path), created 0600 with `make()` when missing.
 */
function qubeSecret(qubeDir: string, s: Section, key: string, dflt: string, make: () => string): { file: string; created: boolean } {
  const named = typeof s[key] === 'string' && s[key] ? (s[key] as string) : dflt;
  const file = insideQube(qubeDir, named);
  if (file !== named) s[key] = file;
  if (existsSync(file)) return { file, created: false };
  writeSecret(file, make());
  return { file, created: true };
}

function writeSecret(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
}

function readVerifier(file: string): string {
  try {
    return verifierKeyOf(parseSignerKey(readFileSync(file, 'utf8').trim()));
  } catch (e) {
    throw new QbuildError('config', `cannot read the logs ticket key ${file}: ${(e as Error).message}`);
  }
}
