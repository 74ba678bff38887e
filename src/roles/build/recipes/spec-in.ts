import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { QbuildError } from '../../../errors.js';

/** A spec template larger than this is refused (real Qubes specs are a few hundred KiB at most). */
const MAX_SPEC_BYTES = 4 << 20;

/** `version` and `rel` files: one short token on the first line, as Qubes components keep them. */
const VERSION_FILE_RE = /^[0-9A-Za-z._+~^]{1,64}$/;

/**
 * Renders a Qubes `*.spec.in` as qubes-builderv2 does before rpmbuild: `@VERSION@` (and
 * `@VERSION1@`…`@VERSION7@`) from the checkout's `version` file, `@REL@` (and `@REL1@`…) from
 * its `rel` file or `1`, `@CHANGELOG@` empty, `@BACKEND_VMM@` = `xen`. Without a `version`
 * file the tag's version (up to its first `-`) is used. Rules for the checkout's files: the
 * template at most 4 MiB; `version`/`rel` regular files (not symlinks) whose first line is a single token of [0-9A-Za-z._+~^] (no newline can
 * reach the spec through them). Writes `<specsDir>/<name>.spec` and returns its path.
 */
export function renderSpecIn(checkout: string, template: string, tagVersion: string, specsDir: string): string {
  if (lstatSync(template).size > MAX_SPEC_BYTES) throw new QbuildError('stage', `${basename(template)} is larger than ${MAX_SPEC_BYTES} bytes`);
  const version = tokenFile(checkout, 'version') ?? tagVersion.split('-')[0]!;
  const rel = tokenFile(checkout, 'rel') ?? '1';
  const text = readFileSync(template, 'utf8')
    .replace(/@VERSION[1-7]?@/g, version)
    .replace(/@REL[1-7]?@/g, rel)
    .replaceAll('@CHANGELOG@', '')
    .replaceAll('@BACKEND_VMM@', 'xen');
  mkdirSync(specsDir, { recursive: true });
  const out = join(specsDir, basename(template).replace(/\.in$/, ''));
  writeFileSync(out, text);
  return out;
}

function tokenFile(checkout: string, name: string): string | undefined {
  const path = join(checkout, name);
  if (!existsSync(path)) return undefined;
  if (!lstatSync(path).isFile()) throw new QbuildError('stage', `the checkout's ${name} must be a regular file`);
  const first = readFileSync(path, 'utf8').split('\n')[0]!.trim();
  if (!VERSION_FILE_RE.test(first)) throw new QbuildError('stage', `the checkout's ${name} file must hold one token of [0-9A-Za-z._+~^]`);
  return first;
}
