import { QbuildError } from '../../errors.js';

/**
 * Rules for the values that end up in the build qube's ssh_config and known_hosts. They come
 * from the pillar, and ssh_config has no quoting that survives everything (a newline starts a
 * directive, a space ends a value, `%` and `~` expand): so every rule is a strict character
 * set and nothing is ever escaped. Each check throws QbuildError('config') naming the value.
 */

function bad(what: string, value: string, why: string): never {
  throw new QbuildError('config', `invalid ${what} ${JSON.stringify(value.slice(0, 80))}: ${why}`);
}

/** Host key algorithms a pinned key may name (the ones OpenSSH 9 offers for host keys). */
export const SSH_HOST_KEY_TYPES = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa',
] as const;
export type SshHostKeyType = (typeof SSH_HOST_KEY_TYPES)[number];

const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A remote host is a lower-case DNS name: dot-separated labels of `[a-z0-9-]`, not starting or
 * ending with `-`, each 1-63, at most 64 in all. Lower case because ssh lower-cases the name
 * before it expands `%h`: a mixed-case name would reach local.ConnectSSH as a different
 * argument than the policy rule names. At most 64 because it is a qrexec argument.
 */
export function checkSshHost(host: string): string {
  if (host.length > 64) bad('ssh host', host, 'longer than 64 characters (a qrexec argument)');
  if (!host.split('.').every((l) => LABEL_RE.test(l))) bad('ssh host', host, 'not a lower-case DNS host name');
  return host;
}

/** An ssh user is a POSIX-ish login: `[a-z_][a-z0-9_-]*`, at most 32. */
export function checkSshUser(user: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) bad('ssh user', user, 'not a valid user name');
  return user;
}

/**
 * The qube that offers local.ConnectSSH: a VM name (letter, then `[A-Za-z0-9_.-]`, at most 31),
 * which also keeps it a single word in the ProxyCommand line.
 */
export function checkProxyVm(vm: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,30}$/.test(vm)) bad('ssh proxy VM', vm, 'not a qube name');
  return vm;
}

/**
 * A file ssh reads (known_hosts, identity) is an absolute path of `[A-Za-z0-9_./-]` with no
 * `..` component: no space, `%` or `~`, which ssh_config would split or expand.
 */
export function checkSshPath(what: string, path: string): string {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(path)) bad(what, path, 'must be an absolute path of A-Z a-z 0-9 _ . / -');
  if (path.split('/').includes('..')) bad(what, path, "must not contain '..'");
  return path;
}

/** A host key type is one of SSH_HOST_KEY_TYPES. */
export function checkHostKeyType(type: string): SshHostKeyType {
  if (!(SSH_HOST_KEY_TYPES as readonly string[]).includes(type)) {
    bad('ssh host key type', type, `must be one of ${SSH_HOST_KEY_TYPES.join(', ')}`);
  }
  return type as SshHostKeyType;
}

/** The fields after the type string each host key type's blob has (RFC 4253 6.6, 5656, 8709). */
const KEY_FIELDS: Record<SshHostKeyType, number> = {
  'ssh-ed25519': 1, 'ecdsa-sha2-nistp256': 2, 'ecdsa-sha2-nistp384': 2, 'ecdsa-sha2-nistp521': 2, 'ssh-rsa': 2,
};

/** Splits an ssh wire blob into its length-prefixed strings; null if it does not end exactly. */
function wireStrings(blob: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) return null;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return null;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/**
 * A host key is the canonical base64 of an ssh public key blob (the second field of a
 * known_hosts line): its own leading type string equals the declared type, followed by exactly
 * the fields that type has (an ed25519 key being 32 bytes). A key pasted under the wrong type,
 * truncated, or with anything around it is refused here rather than failing every connection.
 */
export function checkHostKey(type: SshHostKeyType, key: string): string {
  if (!/^[A-Za-z0-9+/]{16,}={0,2}$/.test(key) || key.length % 4 !== 0) {
    bad('ssh host key', key, 'must be the base64 key of a known_hosts line');
  }
  const blob = Buffer.from(key, 'base64');
  if (blob.toString('base64') !== key) bad('ssh host key', key, 'not canonical base64');
  const fields = wireStrings(blob);
  if (fields?.[0]?.toString('latin1') !== type || fields.length !== 1 + KEY_FIELDS[type]) {
    bad('ssh host key', key, `is not a ${type} key`);
  }
  if (type === 'ssh-ed25519' && fields[1]!.length !== 32) bad('ssh host key', key, 'is not a ssh-ed25519 key');
  return key;
}
