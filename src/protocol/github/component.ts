import { QbuildError } from '../../errors.js';

export const MAX_COMPONENT = 64;
const COMPONENT_RE = /^[A-Za-z0-9_-]+$/;

/**
 * A component name (design §5, TriggerBuild's argument): 1–64 characters of `[A-Za-z0-9_-]`.
 * No `.`, `/` or space, so it can never name a path outside the builder's component directory.
 */
export function checkComponentName(name: string): string {
  if (!name) throw new QbuildError('bad-input', 'empty component name');
  if (name.length > MAX_COMPONENT) throw new QbuildError('bad-input', `component name longer than ${MAX_COMPONENT} characters`);
  if (!COMPONENT_RE.test(name)) {
    throw new QbuildError('bad-input', `invalid component name ${JSON.stringify(name.slice(0, 80))}: allowed characters are A-Z a-z 0-9 _ -`);
  }
  return name;
}

/**
 * The component a repository builds (design §8): the repository's name (the part after the
 * owner in `owner/name`) with one leading `qubes-` removed, then checked by checkComponentName.
 * A full name has at most one `/` (GitHub's `owner/name`); anything else is rejected.
 * `QubesOS/qubes-core-admin` → `core-admin`; `QubesOS/qubes-` is rejected (empty).
 */
export function componentFromRepository(fullName: string): string {
  const parts = fullName.split('/');
  if (parts.length > 2) throw new QbuildError('bad-input', `repository name ${JSON.stringify(fullName.slice(0, 80))} is not OWNER/NAME`);
  const name = parts[parts.length - 1]!;
  return checkComponentName(name.startsWith('qubes-') ? name.slice('qubes-'.length) : name);
}
