import { DEBIAN_RELEASES } from '../../../protocol/build/debian-dists.js';
import type { AnnounceEvent, AnnouncedRepository } from './events.js';
import { uploadLabels, type LabelChanges } from './messages.js';

const FENCE = '```';
const HEAD = ['**Automated announcement from [builder-github]**', ''];
const FOOT = ['[Changes included in this update][commits]', '', '[builder-github]: https://github.com/QubesOS/qubes-builder-github', '[commits]: @GIT_LOG_URL@'];

/** Who installs the update: dom0, a Fedora template or a Debian template (upstream's template names' last part). */
export type AnnounceAudience = 'host' | 'fedora' | 'debian';

/**
 * Upstream's templates/message-<current-testing|stable>-<host|vm-fedora|vm-debian>, line by
 * line (the text ends with a newline after the last line); @…@ are filled in by announcementText.
 */
const TEMPLATES: Record<AnnouncedRepository, Record<AnnounceAudience, string[]>> = {
  'current-testing': {
    fedora: [...HEAD,
      'The component `@COMPONENT@` (including package `@PACKAGE_NAME@`) has been pushed to the `@RELEASE_NAME@` testing repository for the Fedora template.',
      'To test this update, please install it with the following command:',
      FENCE, 'sudo dnf update --enablerepo=qubes-vm-@RELEASE_NAME@-current-testing', FENCE, ...FOOT],
    debian: [...HEAD,
      'The package `@PACKAGE_NAME@` has been pushed to the `@RELEASE_NAME@` testing repository for the Debian template.',
      'To test this update, first enable the testing repository in `/etc/apt/sources.list.d/qubes-*.list` by uncommenting the line containing `@DIST@-testing` (or appropriate equivalent for your template version), then use the standard update command:',
      FENCE, 'sudo apt-get update && sudo apt-get dist-upgrade', FENCE, ...FOOT],
    host: [...HEAD,
      'The component `@COMPONENT@` (including package `@PACKAGE_NAME@`) has been pushed to the `@RELEASE_NAME@` testing repository for dom0.',
      'To test this update, please install it with the following command:',
      FENCE, 'sudo qubes-dom0-update --enablerepo=qubes-dom0-current-testing', FENCE, ...FOOT],
  },
  current: {
    fedora: [...HEAD,
      'The component `@COMPONENT@` (including package `@PACKAGE_NAME@`) has been pushed to the `@RELEASE_NAME@` stable repository for the Fedora template.',
      'To install this update, please use the standard update command:',
      FENCE, 'sudo dnf update', FENCE, ...FOOT],
    debian: [...HEAD,
      'The package `@PACKAGE_NAME@` has been pushed to the `@RELEASE_NAME@` stable repository for the Debian template.',
      'To install this update, please use the standard update command:',
      FENCE, 'sudo apt-get update && sudo apt-get dist-upgrade', FENCE, ...FOOT],
    host: [...HEAD,
      'The component `@COMPONENT@` (including package `@PACKAGE_NAME@`) has been pushed to the `@RELEASE_NAME@` stable repository for dom0.',
      'To install this update, please use the standard update command:',
      FENCE, 'sudo qubes-dom0-update', FENCE, 'Or update dom0 via Qubes Manager.', '', ...FOOT],
  },
};

/**
 * Which template a dist's announcement uses. Rules: `host-*` → host (upstream ships
 * message-*-host, which its v2 lookup `…-host-<dist>` misses); `vm-fcNN` → fedora; a `vm-`
 * Debian release (bookworm, trixie, …) → debian; anything else (CentOS Stream, EL, Ubuntu)
 * has no template upstream, so no comment, only the labels (as upstream).
 */
export function announceAudience(dist: string): AnnounceAudience | undefined {
  if (dist.startsWith('host-')) return 'host';
  const d = dist.replace(/^vm-/, '');
  if (/^fc[0-9]+$/.test(d)) return 'fedora';
  return Object.hasOwn(DEBIAN_RELEASES, d) && DEBIAN_RELEASES[d as keyof typeof DEBIAN_RELEASES].vendor === 'Debian' ? 'debian' : undefined;
}

/**
 * The announcement's text, upstream's substitutions: @COMPONENT@ and @PACKAGE_NAME@ the
 * component (upstream passes component.name for both), @RELEASE_NAME@ the release (`r4.3`),
 * @DIST@ the distribution (`bookworm`), @GIT_LOG_URL@ `<gitUrl>/compare/<previous>...<commit>`.
 * Undefined when the dist has no template.
 */
export function announcementText(e: AnnounceEvent): string | undefined {
  const who = announceAudience(e.dist);
  if (!who) return undefined;
  const values: Record<string, string> = {
    '@COMPONENT@': e.component, '@PACKAGE_NAME@': e.component, '@RELEASE_NAME@': e.release,
    '@DIST@': e.dist.replace(/^(vm|host)-/, ''), '@GIT_LOG_URL@': `${e.gitUrl}/compare/${e.previous}...${e.commit}`,
  };
  return announcementTemplate(e.repository, who).replace(/@[A-Z_]+@/g, (k) => values[k] ?? k);
}

/** What one announcement does on the referenced issue: the text (if the dist has a template) and the upload's label changes. */
export function planAnnouncement(e: AnnounceEvent): LabelChanges & { comment?: string } {
  const text = announcementText(e);
  return { ...(text !== undefined ? { comment: text } : {}), ...uploadLabels(e.release, e.dist, e.repository) };
}

/** The templates as upstream's files hold them (before substitution), for the tests' byte-for-byte comparison. */
export function announcementTemplate(repository: AnnouncedRepository, who: AnnounceAudience): string {
  return `${TEMPLATES[repository][who].join('\n')}\n`;
}
