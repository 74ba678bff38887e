import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMULA, type Plan, type PlannedVm } from '../../plan/plan.js';
import { QbuildError } from '../../../errors.js';
import { simPaths } from './layout.js';

/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

/**
 * A qube's `qrexec-client-vm TARGET SERVICE[+ARG]` (what a real qube has on its PATH, e.g. for
 * ssh's ProxyCommand): the same call through `qbuild sim call`, stdin and stdout passed
 * through untouched, the service's exit code returned. Options and the local_program form
 * are refused, so nothing silently behaves differently from Qubes.
 */
const QREXEC_CLIENT_VM = `#!/bin/sh
# qrexec-client-vm of a simulated qube (written by qbuild's simulator).
me='qrexec-client-vm (qbuild simulator)'
if [ "$#" -gt 2 ]; then echo "$me: the local_program form is not supported: use TARGET SERVICE[+ARG] with stdin/stdout" >&2; exit 2; fi
if [ "$#" -ne 2 ]; then echo "usage: qrexec-client-vm TARGET SERVICE[+ARG]" >&2; exit 2; fi
for a in "$1" "$2"; do case "$a" in -*) echo "$me: options are not supported" >&2; exit 2;; esac; done
exec "\${QBUILD_BIN:?$me: QBUILD_BIN not set}" sim call --formula "\${QBUILD_SIM:?$me: QBUILD_SIM not set}" --from "\${QBUILD_SIM_VM:?$me: QBUILD_SIM_VM not set}" "$1" "$2"
`;

/**
 * Lays out each planned qube as a directory: its config and rpc stubs are copied from the
 * formula (as Salt would install them), and so are the files Salt puts in its home
 * (`files/<vm>/home/**`, e.g. ~/.ssh/config); home and state survive a `sim down`/`sim up`, as a
 * qube's private volume survives a reboot.
 */
export function materialise(formula: string, plan: Plan): void {
  const paths = simPaths(formula);
  mkdirSync(paths.root, { recursive: true });
  for (const vm of plan.vms) layQube(formula, vm, paths.qube(vm.name));
}

/**
 * One qube's directory `q` from the formula's files of `vm` (also a disposable's, from its
 * template's: sim/disposable.ts). Existing home and state are kept.
 */
export function layQube(formula: string, vm: PlannedVm, q: ReturnType<ReturnType<typeof simPaths>['qube']>): void {
  if (Buffer.byteLength(q.socket) > MAX_SOCKET_PATH) {
    throw new QbuildError('config', `formula path too long for a Unix socket: ${q.socket}`);
  }
  for (const d of [q.dir, q.home, q.state]) mkdirSync(d, { recursive: true, mode: 0o700 });
  rmSync(q.rpc, { recursive: true, force: true });
  mkdirSync(q.rpc, { recursive: true });
  const files = join(formula, FORMULA.files, vm.name);
  const stubs = join(files, FORMULA.rpcDir);
  if (existsSync(stubs)) {
    for (const name of readdirSync(stubs)) {
      copyFileSync(join(stubs, name), join(q.rpc, name));
      chmodSync(join(q.rpc, name), 0o755);
    }
  }
  // Socket services: the entry is a symlink to the socket the qube's daemon binds in its state.
  for (const service of vm.socketServices ?? []) {
    const target = join(q.state, 'rpc', service);
    if (Buffer.byteLength(target) > MAX_SOCKET_PATH) throw new QbuildError('config', `formula path too long for a Unix socket: ${target}`);
    rmSync(join(q.rpc, service), { force: true });
    symlinkSync(target, join(q.rpc, service));
  }
  mkdirSync(q.bin, { recursive: true });
  writeFileSync(join(q.bin, 'qrexec-client-vm'), QREXEC_CLIENT_VM, { mode: 0o755 });
  const home = join(files, 'home');
  if (existsSync(home)) cpSync(home, q.home, { recursive: true, force: true });
  const config = join(files, FORMULA.vmConfig);
  if (!existsSync(config)) throw new QbuildError('config', `${config} missing: re-run provision`);
  copyFileSync(config, q.config);
  rmSync(q.socket, { force: true });
}
