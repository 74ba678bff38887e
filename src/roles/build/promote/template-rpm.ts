import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import { rpmSignDigest } from '../../../protocol/rpm/header-blob.js';
import type { StageContext } from '../pipeline/types.js';
import { lastWords, runTool } from '../repo/sign-tool.js';

/**
 * A template is one RPM, as upstream publishes it (qubes-builderv2 plugins/template):
 * `qubes-template-<NAME>-<VERSION>-<TIMESTAMP>.noarch.rpm`, VERSION the recipe's VERSION file,
 * TIMESTAMP the Build-template command's.
 */
export function templateRpmName(name: string, version: string, timestamp: string): string {
  return `qubes-template-${name}-${version}-${timestamp}.noarch.rpm`;
}

/**
 * Checks what a template recipe left in `out` (VERSION already read and removed) and returns
 * the RPM's path and the digest its build log names. Rules: exactly one file, named
 * templateRpmName (anything else beside it is refused: the signed RPM is all that is
 * published); its header says the same name, version, release and arch (rpm -qp), so a
 * repository reader installs what the file name promises; the digest is the header blob's
 * (binary form, what rpmsign hands gpg), as the component build stage names RPMs.
 */
export async function checkTemplateRpm(ctx: StageContext, out: string, name: string, version: string, timestamp: string): Promise<{ path: string; file: string; digest: string }> {
  const file = templateRpmName(name, version, timestamp);
  const left = readdirSync(out).sort();
  if (left.length !== 1 || left[0] !== file) {
    const shown = left.length ? left.slice(0, 5).map((n) => JSON.stringify(n.slice(0, 100))).join(', ') + (left.length > 5 ? ', …' : '') : 'nothing';
    throw new QbuildError('stage', `the template recipe must leave exactly ${file} in OUTPUT_DIR (besides VERSION); it left ${shown}`);
  }
  const path = join(out, file);
  const q = await runTool(ctx, 'rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}', '--', path]);
  if (q.code !== 0) throw new QbuildError('stage', `${file} is not an RPM: ${lastWords(q)}`);
  const nvra = q.stdout.toString('utf8').trim();
  const want = `qubes-template-${name} ${version} ${timestamp} noarch`;
  if (nvra !== want) throw new QbuildError('stage', `${file}: its header says ${JSON.stringify(oneLine(nvra).slice(0, 200))}, not ${JSON.stringify(want)}`);
  let digest: string;
  try {
    digest = rpmSignDigest(readFileSync(path));
  } catch (e) {
    throw new QbuildError('stage', `${file}: ${oneLine(e)}`);
  }
  return { path, file, digest };
}
