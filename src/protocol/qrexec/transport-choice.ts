import { QbuildError } from '../../errors.js';
import type { Transport } from './transport.js';
import { simPaths } from './sim/layout.js';
import { checkVmName } from './names.js';

/**
 * The simulator socket this process calls through when QBUILD_SIM names a formula directory
 * (and QBUILD_SIM_VM this qube); undefined on real Qubes.
 */
export function simSocketFor(env: NodeJS.ProcessEnv): string | undefined {
  const sim = env.QBUILD_SIM;
  if (!sim) return undefined;
  const vm = env.QBUILD_SIM_VM;
  if (!vm) throw new QbuildError('config', 'QBUILD_SIM is set but QBUILD_SIM_VM is not: which qube is this?');
  return simPaths(sim).qube(checkVmName(vm)).socket;
}

/**
 * The transport defaultTransport (client.ts) picks, loading only that backend: a per-call
 * client (`qbuild sign`) in the simulator then does not load node:child_process.
 */
export async function loadDefaultTransport(env: NodeJS.ProcessEnv = process.env): Promise<Transport> {
  const socket = simSocketFor(env);
  if (socket === undefined) return new (await import('./transport-qubes.js')).QubesTransport();
  return new (await import('./transport-sim.js')).SimTransport(socket);
}
