import { QbuildError } from '../../errors.js';
import { checkArgument, checkServiceName, checkTarget, checkVmName, parseServiceFullName } from './names.js';

/** What a qrexec service knows about the call that started it (design §4). */
export interface ServiceContext {
  /** The calling qube, as qrexec authenticated it. */
  remoteDomain: string;
  service: string;
  argument: string | undefined;
  /** The target the caller asked for before any policy redirect (`dom0`, `@default`, a VM). */
  requestedTarget: string | undefined;
}

/**
 * Reads the qrexec environment. Rules:
 * - QREXEC_REMOTE_DOMAIN must be present and a valid VM name (or `dom0`): a service never
 *   runs without knowing its caller.
 * - QREXEC_SERVICE_FULL_NAME, when present, must name the service being dispatched.
 * - QREXEC_SERVICE_ARGUMENT, when present, must equal the argument in the full name.
 */
export function serviceContextFromEnv(expectedService: string, env: NodeJS.ProcessEnv): ServiceContext {
  const remote = env.QREXEC_REMOTE_DOMAIN;
  if (!remote) throw new QbuildError('usage', 'QREXEC_REMOTE_DOMAIN is not set: run this through qrexec');
  const remoteDomain = remote === 'dom0' ? remote : checkVmName(remote);
  checkServiceName(expectedService);
  let argument: string | undefined;
  const full = env.QREXEC_SERVICE_FULL_NAME;
  if (full !== undefined) {
    const parsed = parseServiceFullName(full);
    if (parsed.service !== expectedService) {
      throw new QbuildError('bad-name', `QREXEC_SERVICE_FULL_NAME ${full} does not name ${expectedService}`);
    }
    argument = parsed.argument;
  }
  const argEnv = env.QREXEC_SERVICE_ARGUMENT;
  if (argEnv !== undefined && argEnv !== '') {
    checkArgument(argEnv);
    if (argument !== undefined && argument !== argEnv) {
      throw new QbuildError('bad-name', 'QREXEC_SERVICE_ARGUMENT disagrees with QREXEC_SERVICE_FULL_NAME');
    }
    argument = argEnv;
  }
  const req = env.QREXEC_REQUESTED_TARGET;
  const requestedTarget = req ? (req === 'dom0' ? req : checkTarget(req)) : undefined;
  return { remoteDomain, service: expectedService, argument, requestedTarget };
}
