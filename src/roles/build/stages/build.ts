import { readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { QbuildError, oneLine } from '../../../errors.js';
import { formDigest, type SignForm } from '../../../protocol/signform.js';
import { rpmSignDigest } from '../../../protocol/rpm/header-blob.js';
import type { Executor } from '../executor/executor.js';
import { artifactLabel } from '../recipes/artifacts.js';
import { outputDir, type RecipeJob } from '../recipes/recipe.js';
import { runRecipe } from '../recipes/run-recipe.js';
import { recipeFor } from '../pipeline/recipe-for.js';
import type { BuildLogStream } from '../log-stream.js';
import type { Artifact, ArtifactKind, ComponentConfig, Dist, SourceCheckout, StageContext } from '../pipeline/types.js';

/**
 * The `build` stage for one dist: the component's recipe runs through `executor`, its output
 * streamed into `log` chunk by chunk as it arrives (a full log stream pauses the recipe), then
 * the manifest names every byte string the sign stage will ask the keys VM to sign:
 *   - each RPM and SRPM: the header blob rpmsign hands gpg (binary form);
 *   - each .dsc and .buildinfo: their cleartext form (debsign clearsigns them).
 * The .changes is not named here: debsign rewrites its checksums of the .dsc and .buildinfo
 * once those are signed, so the sign stage names it in its own log.
 * The caller opens and finishes `log`; a failing recipe throws QbuildError('stage') and
 * leaves no manifest line.
 */
export async function buildStage(
  ctx: StageContext, src: SourceCheckout, comp: ComponentConfig, dist: Dist, log: BuildLogStream, executor: Executor,
): Promise<Artifact[]> {
  const dir = join(ctx.workDir, 'build', dist.name);
  rmSync(dir, { recursive: true, force: true });
  const job: RecipeJob = {
    src, dist, dir, executor,
    onOutput: (chunk) => log.write(chunk),
    timeoutMs: comp.timeoutSeconds * 1000,
    outputCapBytes: comp.outputCapBytes,
    signal: ctx.signal,
  };
  const recipe = recipeFor(comp, dist);
  log.write(`qbuild: recipe ${recipe.kind} for ${dist.name}: ${src.component} ${src.version} at ${src.commit}`
    + ` (timeout ${comp.timeoutSeconds} s, output cap ${comp.outputCapBytes} bytes)\n`);
  const artifacts = await runRecipe(recipe, job);
  log.write('\nqbuild: recipe finished; results:\n');
  for (const a of artifacts) log.write(`  ${basename(a.path)} (${a.kind})\n`);
  writeManifest(log, outputDir(job), artifacts);
  return artifacts;
}

/**
 * The manifest lines for what the sign stage signs from this build, in artifact order. All
 * digests are computed before the first line is written, so a recipe output that only looks
 * like a package (a `.rpm` that is no RPM) fails the stage with no manifest line at all.
 */
function writeManifest(log: BuildLogStream, outDir: string, artifacts: Artifact[]): void {
  const lines: { sha256: string; label: string; form: SignForm }[] = [];
  for (const a of artifacts) {
    const label = artifactLabel(outDir, a);
    const form = SIGN_FORM_OF[a.kind];
    if (!form) continue;
    try {
      const bytes = readFileSync(a.path);
      lines.push({ sha256: form === 'binary' ? rpmSignDigest(bytes) : formDigest(form, bytes), label, form });
    } catch (e) {
      throw new QbuildError('stage', `recipe output ${label} (${a.kind}): ${oneLine(e)}`);
    }
  }
  for (const l of lines) log.manifest(l.sha256, l.label, l.form);
}

/**
 * What each kind is signed as: RPMs by rpmsign (a binary signature over the header blob),
 * .dsc and .buildinfo by debsign (clearsigned). Other kinds are not signed by themselves.
 */
const SIGN_FORM_OF: Partial<Record<ArtifactKind, SignForm>> = {
  rpm: 'binary',
  srpm: 'binary',
  dsc: 'clearsign',
  buildinfo: 'clearsign',
};
