import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { QbuildError } from '../../../errors.js';
import type { BuiltDist, StageContext } from '../pipeline/types.js';
import { lastWords, mustRun, runTool, writeGpgWrapper } from './sign-tool.js';

/**
 * The check upstream's publish plugins make before publishing (qubes-builderv2 publish_rpm
 * `sign-rpm --check-only`, publish_deb `gpg --verify`): a package (RPM, .dsc, .buildinfo)
 * goes into a repository only with a good signature by the signing key. The public key comes from the keys VM
 * (`qbuild sign --export -a KEY`: public keys need no ticket); the verdicts from rpmkeys and
 * gpgv, in a scratch dir that trusts nothing else.
 */
export async function verifySigned(ctx: StageContext, built: Pick<BuiltDist, 'artifacts'>): Promise<void> {
  const rpms = built.artifacts.filter((a) => a.kind === 'rpm' || a.kind === 'srpm');
  // What goes into the repository: the .changes does not (and is signed later, in `release`).
  const clearsigned = built.artifacts.filter((a) => a.kind === 'dsc' || a.kind === 'buildinfo');
  if (!rpms.length && !clearsigned.length) return;
  const key = ctx.config.signKey;
  const exported = await runTool(ctx, writeGpgWrapper(ctx), ['--export', '--armor', key]);
  if (exported.code !== 0 || !exported.stdout.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) {
    throw new QbuildError('stage', `cannot get the public key of ${key} from the keys VM: ${lastWords(exported)}`);
  }
  const dir = mkdtempSync(join(ctx.workDir, 'verify-'));
  try {
    const pub = join(dir, 'signing-key.asc');
    writeFileSync(pub, exported.stdout);
    if (rpms.length) {
      const db = join(dir, 'rpmdb');
      await mustRun(ctx, 'rpmkeys', ['--dbpath', db, '--import', pub]);
      for (const a of rpms) {
        const r = await runTool(ctx, 'rpmkeys', ['--dbpath', db, '--checksig', '--', a.path]);
        // rpm 4.18 says "FILE: digests signatures OK" only when a signature verified.
        if (r.code !== 0 || !/: digests signatures OK$/m.test(r.stdout.toString())) {
          throw new QbuildError('stage', `${basename(a.path)} is not signed by ${key}: not published (${lastWords(r)})`);
        }
      }
    }
    if (clearsigned.length) {
      const ring = join(dir, 'signing-key.gpg');
      await mustRun(ctx, 'gpg', ['--batch', '--homedir', dir, '--yes', '--output', ring, '--dearmor', pub]);
      for (const a of clearsigned) {
        const r = await runTool(ctx, 'gpgv', ['--keyring', ring, a.path]);
        if (r.code !== 0) throw new QbuildError('stage', `${basename(a.path)} is not signed by ${key}: not published (${lastWords(r)})`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
