/** Names of the VMs qbuild derives from a build environment's name (upstream dom0.sls). */
export function buildVmName(env: string): string {
  return `build-${env}`;
}

export function keysVmName(env: string): string {
  return `keys-${env}`;
}
