import type { ImageEvent, ImageRepository } from './events.js';
import { imageComponent } from './events.js';
import { logLink, stepComment, type LabelChanges, type MessageSettings, type ReportPlan } from './messages.js';

/**
 * What a template's or the ISO's report does on GitHub, in upstream's shapes
 * (qubes-builderv2-github notify_issues.py `run`, `get_labels`, `search_or_create_issue` for
 * package names `qubes-template-…` and `iso-…`, templates/message-build-report-template and
 * -iso). Pure, as messages.ts.
 */

/**
 * Upstream's templates/message-build-report-template and message-build-report-iso, line by
 * line (each file ends with a newline after its last line); @…@ filled in by imageBody.
 */
const TEMPLATE_BODY = [
  'Template @TEMPLATE_NAME@ @VERSION@ for Qubes OS @RELEASE_NAME@, see comments below for details and build status.',
  '',
  'If you\'re release manager, you can issue GPG-inline signed command (depending on template):',
  '',
  '* `Upload-template @RELEASE_NAME@ @TEMPLATE_NAME@ @VERSION@ templates-itl` (available @MIN_AGE_DAYS@ days from now)',
  '* `Upload-template @RELEASE_NAME@ @TEMPLATE_NAME@ @VERSION@ templates-community` (available @MIN_AGE_DAYS@ days from now)',
  '',
  'Above commands will work only if package in testing repository isn\'t superseded by newer version.',
  '',
  'For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.',
];
const ISO_BODY = [
  'ISO @ISO_VERSION@ for Qubes OS @RELEASE_NAME@, see comments below for details and build status.',
  '',
  'For more information on how to test this update, please take a look at https://www.qubes-os.org/doc/testing/#updates.',
];

/** Upstream's title `<component> <version> (<release>)`: `qubes-template-NAME V-TS (R)`, `iso V (R)` (no `v`: not a tag). */
export function imageTitle(e: ImageEvent): string {
  return `${imageComponent(e)} ${e.version} (${e.release})`;
}

/**
 * The status issue's body: upstream's template with its values (search_or_create_issue's
 * replacements, then `\n{3,}` → `\n\n`). A template's `Upload-template` lines name exactly its
 * `<version>-<timestamp>`, which qbuild's grammar takes (docs/commands.md).
 */
export function imageBody(e: ImageEvent, s: Pick<MessageSettings, 'minAgeDays'>): string {
  const text = `${(e.image === 'iso' ? ISO_BODY : TEMPLATE_BODY).join('\n')}\n`;
  return text
    .replaceAll('@COMPONENT@', imageComponent(e))
    .replaceAll('@RELEASE_NAME@', e.release)
    .replaceAll('@VERSION@', e.version)
    .replaceAll('@MIN_AGE_DAYS@', String(s.minAgeDays))
    .replaceAll('@TEMPLATE_NAME@', e.name)
    .replaceAll('@ISO_VERSION@', e.version)
    .replace(/\n{3,}/g, '\n\n');
}

/**
 * Upstream's get_labels for an image: the prefix is the release alone. Rules: building adds
 * `R-building` and removes `R-failed`; failed adds `R-failed` and removes `R-building`; built
 * removes both; a failed upload changes none; uploaded removes both and then, by repository,
 * templates-itl also removes `R-testing` and adds `R-stable`, templates-community also removes
 * `R-testing` and `iso` and adds `R-stable`, the testing ones (templates-itl-testing,
 * templates-community-testing, iso-testing) add `R-testing`.
 */
export function imageLabels(e: ImageEvent): LabelChanges {
  const r = e.release;
  switch (e.kind) {
    case 'image-building': return { addLabels: [`${r}-building`], removeLabels: [`${r}-failed`] };
    case 'image-built': return { addLabels: [], removeLabels: [`${r}-failed`, `${r}-building`] };
    case 'image-build-failed': return { addLabels: [`${r}-failed`], removeLabels: [`${r}-building`] };
    case 'image-upload-failed': return { addLabels: [], removeLabels: [] };
    case 'image-uploaded': {
      const removeLabels = [`${r}-failed`, `${r}-building`];
      switch (e.repository) {
        case 'templates-itl': return { addLabels: [`${r}-stable`], removeLabels: [...removeLabels, `${r}-testing`] };
        case 'templates-community': return { addLabels: [`${r}-stable`], removeLabels: [...removeLabels, `${r}-testing`, 'iso'] };
        default: return { addLabels: [`${r}-testing`], removeLabels };
      }
    }
  }
}

/** Upstream's repository words in a comment: an ISO goes to "testing" (no repository URL is known to qbuild), a template names its repository. */
function uploadSuffix(e: ImageEvent & { repository: ImageRepository }): string {
  return e.image === 'iso' ? 'testing repository' : `${e.repository} repository`;
}

/**
 * Upstream's comment per status: `Template NAME …` or `ISO for R …`; building has none. The
 * log links are qbuild's (as the component reports: the build log on built and failed, the
 * upload log on uploaded, through upstream's `(additional info)` form, and failed to upload).
 */
function imageComment(e: ImageEvent, s: MessageSettings): string | undefined {
  const base = e.image === 'iso' ? `ISO for ${e.release}` : `Template ${e.name}`;
  switch (e.kind) {
    case 'image-building': return undefined;
    case 'image-built': return stepComment(base, 'built', logLink(s, e.logPath, 'build log'));
    case 'image-build-failed': return stepComment(base, 'build-failed', logLink(s, e.logPath, 'build log'), e.tail);
    case 'image-uploaded': return stepComment(base, 'uploaded', logLink(s, e.logPath, 'upload log'), [], uploadSuffix(e));
    case 'image-upload-failed': return stepComment(base, 'upload-failed', logLink(s, e.logPath, 'upload log'), e.tail, uploadSuffix(e));
  }
}

export function planImageReport(e: ImageEvent, s: MessageSettings): ReportPlan {
  const c = imageComment(e, s);
  return { title: imageTitle(e), issueBody: imageBody(e, s), ...(c !== undefined ? { comment: c } : {}), ...imageLabels(e) };
}
