import { QbuildError } from '../errors.js';

/** Commands whose role lands in a later issue say so and exit 2: they never pretend. */
export function notYet(what: string): never {
  throw new QbuildError('not-implemented', `not implemented yet: ${what}`);
}
