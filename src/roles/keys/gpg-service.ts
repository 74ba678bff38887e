import { QbuildError } from '../../errors.js';
import type { ServiceHandler } from '../service.js';

/** Placeholder until its issue lands: refuses loudly instead of pretending. */
export const handleGpg: ServiceHandler = async () => {
  throw new QbuildError('not-implemented', 'not implemented yet: the qubes.Gpg service (keys VM)');
};
