import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FORMULA, type Plan } from '../../../roles/dom0/plan.js';
import { QbuildError } from '../../../errors.js';
import { simPaths } from './layout.js';

/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

/**
 * Lays out each planned qube as a directory: its config and rpc stubs are copied from the
 * formula (as Salt would install them); home and state survive a `sim down`/`sim up`, as a
 * qube's private volume survives a reboot.
 */
export function materialise(formula: string, plan: Plan): void {
  const paths = simPaths(formula);
  mkdirSync(paths.root, { recursive: true });
  for (const vm of plan.vms) {
    const q = paths.qube(vm.name);
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
    const config = join(files, FORMULA.vmConfig);
    if (!existsSync(config)) throw new QbuildError('config', `${config} missing: re-run provision`);
    copyFileSync(config, q.config);
    rmSync(q.socket, { force: true });
  }
}
