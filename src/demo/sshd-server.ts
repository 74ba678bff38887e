import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../util/loopback.js';
import { runTool } from './steps.js';

export interface Sshd {
  port: number;
  /** The login the server accepts (the current user). */
  user: string;
  /** The host key as a pillar pins it: type and base64. */
  hostKey: { type: string; key: string };
  /** A temp dir to use as the upload root (removed on close). */
  root: string;
  /** Lets `publicKeyLine` (an `ssh-ed25519 AAAA… comment` line) log in. */
  authorize(publicKeyLine: string): void;
  /** What sshd printed so far (-e: its log on stderr). */
  log(): string;
  close(): Promise<void>;
}

/**
 * Debian's OpenSSH server, standing in for the upload host (yum.qubes-os.org) on the dev box
 * (qbuild demo, tests, bench), on 127.0.0.1 at a free port: a fresh ed25519 host
 * key, public-key logins of the current user only (root allowed with a key: CI runs as root),
 * no PAM, authorized_keys in its own temp dir. Stops on close() and with the process that started it.
 */
export async function startSshd(parent = tmpdir()): Promise<Sshd> {
  const dir = mkdtempSync(join(parent, 'qbuild-sshd-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  const hostKeyFile = join(dir, 'ssh_host_ed25519_key');
  await runTool('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKeyFile]);
  const [type, key] = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(' ') as [string, string];
  const authorizedKeys = join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, '', { mode: 0o600 });
  const user = userInfo().username;
  // As root sshd insists on its privilege-separation directory, which Debian's unit creates
  // at boot (RuntimeDirectory=sshd); a container has no such unit.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${hostKeyFile}`, 'PidFile none',
    `AuthorizedKeysFile ${authorizedKeys}`, `AllowUsers ${user}`, 'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'UsePAM no', 'StrictModes no', 'X11Forwarding no', 'AllowAgentForwarding no', 'PrintMotd no',
    'LogLevel VERBOSE', '',
  ].join('\n'));
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => { log += b.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 10_000);
    const check = () => {
      if (log.includes(`Server listening on 127.0.0.1 port ${port}`)) { clearTimeout(timer); resolve(); }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`sshd exited (${code}): ${log}`)); });
    check();
  });
  return {
    port, user, root, hostKey: { type, key },
    authorize: (line) => writeFileSync(authorizedKeys, `${line.trim()}\n`, { flag: 'a' }),
    log: () => log,
    close: async () => {
      process.off('exit', kill);
      if (child.exitCode === null && child.signalCode === null) { kill(); await exited; }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
