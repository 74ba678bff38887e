import { QbuildError } from '../../errors.js';
import type { Transport } from './transport.js';
import { QubesTransport } from './transport-qubes.js';
import { SimTransport } from './transport-sim.js';
import { simPaths } from './sim/layout.js';
import { checkVmName } from './names.js';

/**
 * The transport for this process: the simulator when QBUILD_SIM names a formula directory
 * (and QBUILD_SIM_VM this qube), else real Qubes' qrexec-client-vm (DESIGN §4).
 */
export function defaultTransport(env: NodeJS.ProcessEnv = process.env): Transport {
  const sim = env.QBUILD_SIM;
  if (!sim) return new QubesTransport();
  const vm = env.QBUILD_SIM_VM;
  if (!vm) throw new QbuildError('config', 'QBUILD_SIM is set but QBUILD_SIM_VM is not: which qube is this?');
  return new SimTransport(simPaths(sim).qube(checkVmName(vm)).socket);
}
