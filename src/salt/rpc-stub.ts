import { IN_QUBE } from '../protocol/plan/plan.js';

/**
 * The executable qrexec runs for SERVICE: it only hands over to the qbuild binary (which the
 * simulator may replace through QBUILD_BIN). The service name is checked by the caller.
 */
export function rpcStub(service: string): string {
  return `#!/bin/sh\nexec "\${QBUILD_BIN:-${IN_QUBE.binary}}" rpc ${service} "$@"\n`;
}
