import type { Transport } from './transport.js';
import { QubesTransport } from './transport-qubes.js';
import { SimTransport } from './transport-sim.js';
import { simSocketFor } from './transport-choice.js';

/**
 * The transport for this process: the simulator when QBUILD_SIM names a formula directory
 * (and QBUILD_SIM_VM this qube), else real Qubes' qrexec-client-vm (design §4).
 */
export function defaultTransport(env: NodeJS.ProcessEnv = process.env): Transport {
  const socket = simSocketFor(env);
  return socket === undefined ? new QubesTransport() : new SimTransport(socket);
}
