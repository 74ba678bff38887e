/** Names of the VMs qbuild derives from a build environment's name (upstream dom0.sls). */
export function buildVmName(env: string): string {
  return `build-${env}`;
}

export function keysVmName(env: string): string {
  return `keys-${env}`;
}

/** The disposable template of an env whose recipes run in disposables (`executor: dispvm`). */
export function dvmVmName(env: string): string {
  return `dvm-build-${env}`;
}
