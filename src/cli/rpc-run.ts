import { QbuildError } from '../errors.js';
import { checkServiceName } from '../protocol/qrexec/names.js';
import { serviceContextFromEnv } from '../protocol/qrexec/env.js';
import { EXIT_NO_SERVICE } from '../protocol/qrexec/exit-codes.js';
import { SERVICES, isKnownService } from '../roles/registry.js';
import { setRoleLabel } from './report.js';
import type { ServiceIO } from '../roles/service.js';

/**
 * `qbuild rpc SERVICE [ARG]`: the body of every qrexec stub. Rules:
 * - SERVICE must be a valid service name and one qbuild implements; otherwise exit 127.
 * - The caller comes from QREXEC_REMOTE_DOMAIN only (qrexec sets it; stdin cannot claim it).
 * - An argument on the command line must match the one qrexec put in the environment.
 */
export async function runRpc(service: string, rest: string[]): Promise<number> {
  setRoleLabel(`rpc ${service.slice(0, 64)}`);
  checkServiceName(service);
  if (!isKnownService(service)) {
    process.stderr.write(`qbuild: rpc: no such service: ${service}\n`);
    return EXIT_NO_SERVICE;
  }
  if (rest.length > 1) throw new QbuildError('usage', 'rpc takes at most one argument after the service');
  const env = { ...process.env };
  if (rest.length === 1 && rest[0] !== '') {
    if (env.QREXEC_SERVICE_ARGUMENT && env.QREXEC_SERVICE_ARGUMENT !== rest[0]) {
      throw new QbuildError('bad-name', 'argument on the command line disagrees with QREXEC_SERVICE_ARGUMENT');
    }
    env.QREXEC_SERVICE_ARGUMENT = rest[0];
  }
  const ctx = serviceContextFromEnv(service, env);
  const handler = await SERVICES[service]!();
  // The process streams are built only if the service touches them (see ServiceIO.fds).
  const io: ServiceIO = {
    get stdin() { return process.stdin; },
    get stdout() { return process.stdout; },
    get stderr() { return process.stderr; },
    env,
    fds: { stdin: 0, stdout: 1 },
  };
  return handler(ctx, io);
}
