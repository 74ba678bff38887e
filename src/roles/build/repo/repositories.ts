/**
 * The repositories a component's packages are published to, as upstream names them
 * (qubes-builderv2 plugins/publish COMPONENT_REPOSITORIES, without `unstable`):
 * `current-testing` by every build, `current` and `security-testing` only by a signed
 * Upload-component command, which copies a version already in current-testing
 * (docs/build.md, Promotion).
 */
export type Repository = 'current-testing' | 'current' | 'security-testing';

/** Where every build publishes. */
export const TESTING: Repository = 'current-testing';
