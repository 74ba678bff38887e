/**
 * The gpg option allowlist of qubes.Gpg (design §5), modelled on split-gpg's gpg-common.c.
 * Pure: argument bytes in, a parsed request (or a refusal with a clear message) out. The
 * same parser runs in `qbuild sign` (to refuse early, with the same words) and in the keys
 * VM (where it is the security boundary: nothing touches a key before it has passed).
 *
 * Rules, in the order they are applied:
 * 1. Every argument is printable UTF-8: bytes 0x20–0x7E or well-formed multi-byte UTF-8.
 * 2. Options are parsed like getopt_long with "+": the first non-option (or `--`) ends them.
 *    Long options must be written in full: a unique prefix of an option is refused as
 *    abbreviated. Only options in ALLOWED are accepted; known options we do not offer
 *    (encryption, notations, ...) and every unknown option are refused by name.
 * 3. `-o`/`--output` only with `-`. `--status-fd`, `--logger-fd`, `--attribute-fd` at most
 *    once each, decimal without leading zeroes, below 1024, never 0 (stdin is an input).
 * 4. Exactly one command: sign, detach-sign (`-b`, alone or with `-s`), clearsign, list-keys,
 *    list-secret-keys, export, verify. Conflicting commands are refused.
 * 5. Non-option arguments: after list/export they are key IDs; otherwise only a single `-`
 *    is allowed (the keys VM never opens a file), plus for `--verify` the signature stream
 *    `/dev/fd/N` (N ≥ 3) before it. An argument starting with `-` (other than `-`) is refused
 *    unless `--` ended the options.
 * 6. `--digest-algo` is SHA256, SHA384 or SHA512; list/verify/export option lists contain
 *    only the harmless display options named below.
 */

import type { SignForm } from '../signform.js';

export type GpgAction = 'sign' | 'detach-sign' | 'clearsign' | 'list-keys' | 'list-secret-keys' | 'export' | 'verify';
export type DigestName = 'SHA256' | 'SHA384' | 'SHA512';

export interface GpgRequest {
  action: GpgAction;
  armor: boolean;
  textmode: boolean;
  /** `-u`/`--local-user`/`--default-key` values, in order. */
  localUsers: string[];
  digestAlgo: DigestName | undefined;
  withColons: boolean;
  withFingerprint: boolean;
  keyidFormat: 'short' | '0xshort' | 'long' | '0xlong' | 'none' | undefined;
  /** Client fd numbers of the streams the keys VM writes: index = stream index (0 stdout, 1 stderr, ...). */
  outputFds: number[];
  /** Client fd numbers of the streams the keys VM reads: [0] or [0, signature fd] for --verify. */
  inputFds: number[];
  statusFd: number | undefined;
  loggerFd: number | undefined;
  attributeFd: number | undefined;
  /** For --verify: the client fd that carries the signature. */
  verifySigFd: number | undefined;
  /** Key IDs/user IDs (list/export) or the lone `-`. */
  operands: string[];
  /** The option vector as given (for logs). */
  argv: string[];
  /** How many leading arguments were options (including a terminating `--`). */
  optionCount: number;
  /** Whether `--` ended the options. */
  endedByDashDash: boolean;
}

export type ParseResult = { ok: true; request: GpgRequest } | { ok: false; message: string };

interface OptSpec { id: string; arg: boolean }
const COMMANDS: Record<string, GpgAction | 'detach'> = {
  s: 'sign', b: 'detach', clearsign: 'clearsign', k: 'list-keys', K: 'list-secret-keys',
  export: 'export', verify: 'verify', fingerprint: 'list-keys', 'list-sigs': 'list-keys',
};

/** Accepted long options → internal id (and whether it takes a value). */
const ALLOWED_LONG: Record<string, OptSpec> = {
  sign: { id: 's', arg: false },
  'detach-sign': { id: 'b', arg: false },
  clearsign: { id: 'clearsign', arg: false },
  'clear-sign': { id: 'clearsign', arg: false },
  'list-keys': { id: 'k', arg: false },
  'list-key': { id: 'k', arg: false },
  'list-public-keys': { id: 'k', arg: false },
  'list-secret-keys': { id: 'K', arg: false },
  'list-sigs': { id: 'list-sigs', arg: false },
  'list-sig': { id: 'list-sigs', arg: false },
  fingerprint: { id: 'fingerprint', arg: false },
  export: { id: 'export', arg: false },
  verify: { id: 'verify', arg: false },
  armor: { id: 'a', arg: false },
  'no-armor': { id: 'no-armor', arg: false },
  textmode: { id: 't', arg: false },
  quiet: { id: 'q', arg: false },
  verbose: { id: 'v', arg: false },
  'local-user': { id: 'u', arg: true },
  'default-key': { id: 'u', arg: true },
  'digest-algo': { id: 'digest-algo', arg: true },
  'status-fd': { id: 'status-fd', arg: true },
  'logger-fd': { id: 'logger-fd', arg: true },
  'attribute-fd': { id: 'attribute-fd', arg: true },
  output: { id: 'o', arg: true },
  'keyid-format': { id: 'keyid-format', arg: true },
  'list-options': { id: 'list-options', arg: true },
  'verify-options': { id: 'verify-options', arg: true },
  'export-options': { id: 'export-options', arg: true },
  'trust-model': { id: 'trust-model', arg: true },
  'with-colons': { id: 'with-colons', arg: false },
  'with-fingerprint': { id: 'with-fingerprint', arg: false },
  'fixed-list-mode': { id: 'ignore', arg: false },
  batch: { id: 'ignore', arg: false },
  'no-tty': { id: 'ignore', arg: false },
  'always-trust': { id: 'ignore', arg: false },
  'no-auto-check-trustdb': { id: 'ignore', arg: false },
  'no-greeting': { id: 'ignore', arg: false },
  'no-secmem-warning': { id: 'ignore', arg: false },
  'no-verbose': { id: 'ignore', arg: false },
  'emit-version': { id: 'ignore', arg: false },
  'no-emit-version': { id: 'ignore', arg: false },
  'no-comments': { id: 'ignore', arg: false },
  'exit-on-status-write-error': { id: 'ignore', arg: false },
  'enable-progress-filter': { id: 'ignore', arg: false },
  openpgp: { id: 'ignore', arg: false },
  rfc4880: { id: 'ignore', arg: false },
  sender: { id: 'ignore-value', arg: true },
};

/** Accepted short options. */
const ALLOWED_SHORT: Record<string, OptSpec> = {
  s: { id: 's', arg: false }, b: { id: 'b', arg: false }, k: { id: 'k', arg: false },
  K: { id: 'K', arg: false }, a: { id: 'a', arg: false }, t: { id: 't', arg: false },
  q: { id: 'q', arg: false }, v: { id: 'v', arg: false }, u: { id: 'u', arg: true }, o: { id: 'o', arg: true },
};

/**
 * Options gpg (and split-gpg) know that the qbuild keys VM does not offer. Listed so that
 * abbreviations of them are recognised and so refusals can say what was refused.
 */
const KNOWN_REFUSED_LONG = [
  'encrypt', 'decrypt', 'symmetric', 'recipient', 'hidden-recipient', 'encrypt-to', 'hidden-encrypt-to',
  'default-recipient', 'default-recipient-self', 'no-default-recipient', 'no-encrypt-to', 'store', 'set-notation',
  'sig-notation', 'cert-notation', 'export-ssh-key', 'export-ownertrust', 'set-filename', 'throw-keyids',
  'no-throw-keyids', 'list-config', 'list-only', 'version', 'command-fd', 'comment', 'compress-algo',
  'cipher-algo', 'cert-digest-algo', 'disable-cipher-algo', 'disable-pubkey-algo', 'display', 'display-charset',
  'charset', 'dry-run', 'force-mdc', 'disable-mdc', 'force-v3-sigs', 'force-v4-certs', 'no-force-v3-sigs',
  'no-force-v4-certs', 'gnupg', 'max-output', 'personal-cipher-preferences', 'personal-compress-preferences',
  'personal-digest-preferences', 'pgp6', 'pgp7', 'pgp8', 'rfc2440', 's2k-cipher-algo', 's2k-count',
  's2k-digest-algo', 's2k-mode', 'show-session-key', 'skip-hidden-recipients', 'no-skip-hidden-recipients',
  'trusted-key', 'try-all-secrets', 'try-secret-key', 'unwrap', 'use-agent', 'utf8-strings', 'with-keygrip',
  'with-secret', 'no-sk-comments', 'homedir', 'options', 'export-secret-keys', 'export-secret-subkeys',
  'import', 'gen-key', 'full-gen-key', 'quick-gen-key', 'delete-keys', 'delete-secret-keys', 'edit-key',
  'sign-key', 'lsign-key', 'passphrase', 'passphrase-fd', 'passphrase-file', 'pinentry-mode', 'keyring',
  'secret-keyring', 'primary-keyring', 'log-file', 'exec-path', 'photo-viewer', 'keyserver', 'recv-keys',
  'send-keys', 'search-keys', 'refresh-keys', 'load-extension', 'agent-program', 'dirmngr-program',
];

const LIST_OPTIONS = new Set(['show-policy-urls', 'show-notations', 'show-std-notations', 'show-standard-notations',
  'show-user-notations', 'show-keyserver-urls', 'show-uid-validity', 'show-unusable-uids', 'show-unusable-subkeys',
  'show-sig-expire', 'show-usage', 'sort-sigs', 'show-only-fpr-mbox', 'show-primary-key-only']);
const EXPORT_OPTIONS = new Set(['export-minimal', 'export-clean', 'export-local-sigs', 'export-attributes',
  'export-sensitive-revkeys', 'include-local-sigs', 'include-attributes', 'include-sensitive-revkeys']);
const TRUST_MODELS = new Set(['always', 'direct', 'pgp', 'classic', 'tofu', 'tofu+pgp', 'auto']);
const DIGESTS: Record<string, DigestName> = { SHA256: 'SHA256', SHA384: 'SHA384', SHA512: 'SHA512' };

/** Whether a long option (accepted or known-refused) takes a value: the client needs this to walk argv. */
export function longOptionTakesValue(name: string): boolean {
  return ALLOWED_LONG[name]?.arg ?? LONG_WITH_VALUE.has(name);
}
const LONG_WITH_VALUE = new Set(['recipient', 'hidden-recipient', 'encrypt-to', 'hidden-encrypt-to', 'default-recipient',
  'set-notation', 'sig-notation', 'cert-notation', 'set-filename', 'command-fd', 'comment', 'compress-algo', 'cipher-algo',
  'cert-digest-algo', 'disable-cipher-algo', 'disable-pubkey-algo', 'display', 'display-charset', 'charset', 'max-output',
  'personal-cipher-preferences', 'personal-compress-preferences', 'personal-digest-preferences', 's2k-cipher-algo',
  's2k-count', 's2k-digest-algo', 's2k-mode', 'trusted-key', 'try-secret-key', 'homedir', 'options', 'passphrase',
  'passphrase-fd', 'passphrase-file', 'pinentry-mode', 'keyring', 'secret-keyring', 'primary-keyring', 'log-file',
  'exec-path', 'photo-viewer', 'keyserver', 'load-extension', 'agent-program', 'dirmngr-program']);

/** Short options that take a value (split-gpg's `N:o:r:R:u:`). */
export const SHORT_WITH_VALUE = new Set(['N', 'o', 'r', 'R', 'u']);

/** Upper bound (exclusive) of an fd number, as split-gpg's MAX_FD_VALUE. */
export const MAX_FD_VALUE = 1024;
/** At most this many streams each way, as split-gpg's MAX_FDS. */
export const MAX_FDS = 16;

class Refusal extends Error {}
const refuse = (message: string): never => { throw new Refusal(message); };

/** Rule 1: printable ASCII or well-formed UTF-8 (no control characters, no NUL, no overlongs). */
export function isPrintableUtf8(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u001f\u007f-\u009f]/.test(text);
}

/** Rule 3: a decimal fd number without leading zeroes, below MAX_FD_VALUE. */
export function parseFdNumber(value: string): number {
  if (!/^[0-9]+$/.test(value)) refuse(`Invalid fd argument '${value}'. Only decimal numbers are supported.`);
  if (value.length > 1 && value.startsWith('0')) refuse(`Leading zeroes in FD argument ${value} not allowed`);
  const n = value.length > 4 ? MAX_FD_VALUE : Number(value);
  if (n >= MAX_FD_VALUE) refuse(`FD value too big (${value} > ${MAX_FD_VALUE - 1})`);
  return n;
}

function checkOptionList(value: string, allowed: Set<string>, what: string): void {
  for (const item of value.split(/[ ,]+/).filter(Boolean)) {
    const name = item.startsWith('no-') ? item.slice(3) : item;
    if (!allowed.has(name)) refuse(`Forbidden ${what} option: ${item}`);
  }
}

/** Where an option vector came from: the client may name files locally, the keys VM never. */
export type ParseSide = 'client' | 'server';

/** Parses one gpg option vector by the rules above. Never throws for bad input: it refuses. */
export function parseGpgArgs(rawArgs: readonly (string | Uint8Array)[], side: ParseSide): ParseResult {
  try {
    return { ok: true, request: parse(rawArgs, side) };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, message: e.message };
    throw e;
  }
}

function parse(rawArgs: readonly (string | Uint8Array)[], side: ParseSide): GpgRequest {
  const args = rawArgs.map((a) => {
    const bytes = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    if (!isPrintableUtf8(bytes)) refuse('Command line arguments must be printable UTF-8, sorry');
    return Buffer.from(bytes).toString('utf8');
  });
  const req: GpgRequest = {
    action: 'sign', armor: false, textmode: false, localUsers: [], digestAlgo: undefined,
    withColons: false, withFingerprint: false, keyidFormat: undefined,
    outputFds: [1, 2], inputFds: [0], statusFd: undefined, loggerFd: undefined, attributeFd: undefined,
    verifySigFd: undefined, operands: [], argv: args, optionCount: 0, endedByDashDash: false,
  };
  const commands = new Set<string>();
  let i = 0;
  let endedByDashDash = false;
  const apply = (spec: OptSpec, value: string | undefined, shown: string) => {
    if (spec.id in COMMANDS) commands.add(spec.id);
    switch (spec.id) {
      case 'a': req.armor = true; break;
      case 'no-armor': req.armor = false; break;
      case 't': req.textmode = true; break;
      case 'u': req.localUsers.push(value!); break;
      case 'with-colons': req.withColons = true; break;
      case 'with-fingerprint': req.withFingerprint = true; break;
      case 'o': if (value !== '-') refuse("Only '-' argument supported for --output option"); break;
      case 'digest-algo': {
        const d = DIGESTS[value!.toUpperCase()];
        if (!d) refuse(`Unsupported --digest-algo ${value} (allowed: SHA256, SHA384, SHA512)`);
        req.digestAlgo = d;
        break;
      }
      case 'keyid-format': {
        const f = value!.toLowerCase();
        if (!['short', '0xshort', 'long', '0xlong', 'none'].includes(f)) refuse(`Invalid --keyid-format ${value}`);
        req.keyidFormat = f as GpgRequest['keyidFormat'];
        break;
      }
      case 'list-options': case 'verify-options': checkOptionList(value!, LIST_OPTIONS, spec.id.split('-')[0]!); break;
      case 'export-options': checkOptionList(value!, EXPORT_OPTIONS, 'export'); break;
      case 'trust-model': if (!TRUST_MODELS.has(value!)) refuse(`Invalid --trust-model ${value}`); break;
      case 'status-fd': case 'logger-fd': case 'attribute-fd': {
        const key = spec.id === 'status-fd' ? 'statusFd' : spec.id === 'logger-fd' ? 'loggerFd' : 'attributeFd';
        if (req[key] !== undefined) refuse(`${shown} can only be specified once`);
        const fd = parseFdNumber(value!);
        if (fd === 0) refuse('Cannot write to stdin');
        req[key] = fd;
        if (!req.outputFds.includes(fd)) {
          if (req.outputFds.length >= MAX_FDS - 1) refuse('Too many FDs specified');
          req.outputFds.push(fd);
        }
        break;
      }
      default: break; // ignored harmless options
    }
  };

  while (i < args.length) {
    const arg = args[i]!;
    if (arg === '--') { endedByDashDash = true; i++; break; }
    if (arg === '-' || !arg.startsWith('-')) break;
    i++;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = ALLOWED_LONG[name];
      if (!spec) {
        if (KNOWN_REFUSED_LONG.includes(name)) refuse(`Forbidden option: --${name}`);
        const full = Object.keys(ALLOWED_LONG).filter((o) => name.length > 0 && o.startsWith(name));
        if (full.length > 0) refuse(`Abbreviated option '--${name}' must be written as '--${full.sort()[0]}'`);
        refuse(`Forbidden option: --${name}`);
      }
      let value: string | undefined;
      if (spec!.arg) {
        if (eq >= 0) value = arg.slice(eq + 1);
        else if (i < args.length) value = args[i++];
        else refuse(`option '--${name}' requires an argument`);
      } else if (eq >= 0) refuse(`option '--${name}' doesn't allow an argument`);
      apply(spec!, value, `--${name}`);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const ch = arg[j]!;
      const spec = ALLOWED_SHORT[ch];
      if (!spec) refuse(`Forbidden option: -${ch}`);
      if (!spec!.arg) { apply(spec!, undefined, `-${ch}`); continue; }
      let value: string;
      if (j + 1 < arg.length) value = arg.slice(j + 1);
      else if (i < args.length) value = args[i++]!;
      else refuse(`option requires an argument -- '${ch}'`);
      apply(spec!, value!, `-${ch}`);
      break;
    }
  }
  req.operands = args.slice(i);
  req.optionCount = i;
  req.endedByDashDash = endedByDashDash;

  // Rule 4: one command.
  const chosen = new Set<GpgAction>();
  for (const c of commands) {
    const a = COMMANDS[c]!;
    chosen.add(a === 'detach' ? 'detach-sign' : a);
  }
  if (chosen.has('detach-sign')) chosen.delete('sign');
  if (chosen.size === 0) refuse('no command given (use --detach-sign, --clearsign, --sign, --list-keys, --export or --verify)');
  if (chosen.size > 1) refuse('conflicting commands');
  req.action = [...chosen][0]!;

  // Rule 5: non-option arguments.
  if (!endedByDashDash) {
    for (const op of req.operands) {
      if (op.startsWith('-') && op !== '-') {
        refuse('Non-option arguments must not start with \'-\', unless preceded by "--" to mark the end of options. As an exception, the literal string "-" of length 1 is allowed.');
      }
    }
  }
  const userIdArgs = req.action === 'list-keys' || req.action === 'list-secret-keys' || req.action === 'export';
  if (!userIdArgs) {
    let rest = req.operands;
    if (req.action === 'verify' && rest.length > 0 && side === 'server') {
      const sig = rest[0]!;
      if (!sig.startsWith('/dev/fd/')) refuse('--verify with filename allowed only on the client side');
      const fd = parseFdNumber(sig.slice(8));
      if (fd < 3) refuse('--verify signature file descriptor must be 3 or more');
      if (req.outputFds.includes(fd)) refuse(`Cannot use fd ${fd} for both reading and writing`);
      req.verifySigFd = fd;
      req.inputFds.push(fd);
      rest = rest.slice(1);
    }
    if (side === 'server') {
      if (rest.length > 1 || (rest.length === 1 && rest[0] !== '-')) refuse('Non-option arguments not allowed (only "-", the data sent on stdin)');
    } else {
      const maxOperands = req.action === 'verify' ? 2 : 1;
      if (rest.length > maxOperands) refuse('Too many filename arguments');
    }
    if (req.action === 'verify' && side === 'server' && req.verifySigFd === undefined) {
      refuse('--verify needs a detached signature stream (/dev/fd/N); inline signatures are not supported');
    }
  }
  return req;
}

/**
 * The form a sign request's signature binds (docs/gate.md): `--clearsign` the cleartext,
 * `-t` with `--sign`/`--detach-sign` the text-mode text, otherwise the raw bytes.
 */
export function requestSignForm(req: GpgRequest): SignForm {
  if (req.action === 'clearsign') return 'clearsign';
  return req.textmode ? 'text' : 'binary';
}
