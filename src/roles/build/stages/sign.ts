import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import { formDigest } from '../../../protocol/signform.js';
import type { BuildLogStream } from '../log-stream.js';
import type { Artifact, BuiltDist, Dist, StageContext } from '../pipeline/types.js';
import { fixupChanges } from '../repo/deb-changes.js';
import { TicketedSigner, qbuildSign, runTool, writeGpgWrapper, type TicketWait } from '../repo/sign-tool.js';

/**
 * The `sign` stage (docs/build-repository.md). It runs after the build stage's log was
 * published and its ticket sent to the keys VM; every signature goes through `qbuild sign`.
 *
 *   signStage    RPMs: `rpmsign --addsign` with `%__gpg` = a `qbuild sign` wrapper.
 *                Debian: the .dsc and the .buildinfo clearsigned (the build stage named both
 *                in clearsign form); the .changes rewritten for their new checksums exactly
 *                as debsign does, and named in THIS stage's manifest (clearsign form).
 *   signChanges  after this stage's own log has been published and ticketed: the .changes
 *                clearsigned (what `debsign --no-re-sign` does once its children are signed).
 *
 * Differences from upstream (qubes-builderv2 sign_rpm / sign_deb), and why:
 * - no `rpmsign --rpmv3`: a v3 signature hashes header + payload, bytes the build log's
 *   manifest does not name (it names the header blob rpmsign hands gpg);
 * - the .buildinfo keeps the checksums of the unsigned .dsc: debsign would rewrite them
 *   after signing the .dsc, but the build stage named the .buildinfo before any signature
 *   existed, and the rewritten one would need a ticket of its own. `debsign --no-re-sign`
 *   does the same when the .buildinfo is already signed.
 */

/** The .changes this stage rewrote and named; signChanges signs exactly these bytes. */
export interface PendingChanges {
  dist: Dist;
  path: string;
  bytes: Buffer;
  /** formDigest('clearsign', bytes): the manifest entry. */
  sha256: string;
  label: string;
}

const ofKind = (built: BuiltDist, ...kinds: Artifact['kind'][]) => built.artifacts.filter((a) => kinds.includes(a.kind));

/**
 * Exactly one artifact of `kind`, or none. Rule: a Debian build yields at most one .dsc,
 * .buildinfo and .changes per dist; more would leave it ambiguous which the .changes covers.
 */
function single(built: BuiltDist, kind: Artifact['kind']): string | undefined {
  const found = ofKind(built, kind);
  if (found.length > 1) throw new QbuildError('stage', `${built.dist.name}: ${found.length} .${kind} files (expected one)`);
  return found[0]?.path;
}

/** Clearsigns `path` in place through qbuild sign (the signed text replaces the file only on success). */
async function clearsignInPlace(ctx: StageContext, signer: TicketedSigner, wrapper: string, path: string): Promise<Buffer> {
  const out = `${path}.qbuild-signed`;
  await signer.run(`signing ${basename(path)}`, () => qbuildSign(ctx, wrapper, ctx.config.signKey, 'clearsign', path, out));
  renameSync(out, path);
  return readFileSync(path);
}

/**
 * Signs one dist's packages (waiting, bounded, for the build stage's ticket) and names the
 * rewritten .changes in `log`'s manifest. Returns the .changes still to sign (after this
 * log's ticket: signChanges), or undefined for a dist without one.
 */
export async function signStage(ctx: StageContext, built: BuiltDist, log: BuildLogStream, wait: TicketWait = {}): Promise<PendingChanges | undefined> {
  const key = ctx.config.signKey;
  const wrapper = writeGpgWrapper(ctx);
  const signer = new TicketedSigner(ctx, wait);
  for (const a of ofKind(built, 'rpm', 'srpm')) {
    const name = basename(a.path);
    await signer.run(`rpmsign ${name}`, () => runTool(ctx, 'rpmsign', ['--addsign', '--define', `__gpg ${wrapper}`, '--define', `_gpg_name ${key}`, a.path]));
    log.write(`signed ${name}: rpm header signature by ${key} (rpmsign through qbuild sign)\n`);
  }
  const changes = single(built, 'changes');
  const children: { name: string; data: Buffer }[] = [];
  for (const kind of ['dsc', 'buildinfo'] as const) {
    const path = single(built, kind);
    if (!path) continue;
    if (!changes) throw new QbuildError('stage', `${built.dist.name}: a .${kind} without a .changes`);
    children.push({ name: basename(path), data: await clearsignInPlace(ctx, signer, wrapper, path) });
    log.write(`signed ${basename(path)}: clearsigned by ${key}\n`);
  }
  if (!changes) return undefined;
  const bytes = fixupChanges(readFileSync(changes), children);
  const tmp = join(dirname(changes), `.${basename(changes)}.qbuild-fixup`);
  writeFileSync(tmp, bytes);
  renameSync(tmp, changes);
  const label = basename(changes);
  const sha256 = formDigest('clearsign', bytes);
  log.write(`rewrote ${label}: checksums of ${children.map((c) => c.name).join(', ')} as signed\n`);
  log.manifest(sha256, label, 'clearsign');
  return { dist: built.dist, path: changes, bytes, sha256, label };
}

/**
 * Signs a .changes named by signStage, once the sign stage's ticket is on its way (no-op for
 * a dist without one). Rule: the file must still hold exactly the bytes that were named
 * (anything else would be refused by the keys VM anyway; this says why). `log`, if given, is
 * any open stream (the next stage's): the sign stage's own log has ended by now.
 */
export async function signChanges(ctx: StageContext, pending: PendingChanges | undefined, log?: Pick<BuildLogStream, 'write'>, wait: TicketWait = {}): Promise<void> {
  if (!pending) return;
  if (!readFileSync(pending.path).equals(pending.bytes)) {
    throw new QbuildError('stage', `${pending.label} changed after its digest was logged: not signed`);
  }
  const wrapper = writeGpgWrapper(ctx);
  await clearsignInPlace(ctx, new TicketedSigner(ctx, wait), wrapper, pending.path);
  log?.write(`signed ${pending.label}: clearsigned by ${ctx.config.signKey}\n`);
}
