import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formDigest } from '../../../../src/protocol/signform.js';
import { rpmSignDigest } from '../../../../src/protocol/rpm/header-blob.js';
import { signChanges, signStage } from '../../../../src/roles/build/stages/sign.js';
import { run } from '../../../helpers/run.js';
import { VM_BOOKWORM, VM_FC42, buildFixture, buildQubeContext, recordedLog, rpmCheck, startSigningSim, type SigningSim } from '../repo/signing-sim.js';

/**
 * The sign stage through the simulator: the build stage's real log reaches the logs qube,
 * which publishes it and tickets the keys qube; only then does rpmsign / our debsign
 * equivalent get signatures through `qbuild sign`. Verdicts come from rpm, gpgv, dscverify.
 */
describe('sign stage', () => {
  let s: SigningSim;
  beforeAll(async () => { s = await startSigningSim(); }, 120_000);
  afterAll(async () => { await s?.down(); });

  it('RPM: waits for the build log\'s ticket, then rpmsign through qbuild sign; rpm -K says OK', async () => {
    const ctx = buildQubeContext(s);
    const built = await buildFixture(ctx, VM_FC42, '1.0');
    const rpms = built.artifacts.filter((a) => a.kind === 'rpm' || a.kind === 'srpm');
    expect(rpms.length).toBe(2);
    const digests = rpms.map((a) => rpmSignDigest(readFileSync(a.path)));
    // No wait here: the ticket is still on its way, the stage retries until it is there.
    const log = recordedLog(ctx, 'sign-vm-fc42');
    expect(await signStage(ctx, built, log)).toBeUndefined();
    await log.finish();
    for (const [i, a] of rpms.entries()) {
      const k = await rpmCheck(s, a.path);
      expect(k.code, k.out).toBe(0);
      expect(k.out).toMatch(/Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
      expect(rpmSignDigest(readFileSync(a.path))).toBe(digests[i]);
      expect(log.text()).toContain(`signed ${basename(a.path)}: rpm header signature by ${s.fpr}`);
    }
    const keysLog = readFileSync(join(s.sim.stateDir('keys-fedora'), 'keys.log'), 'utf8');
    for (const d of digests) expect(keysLog).toMatch(new RegExp(`signed detach-sign key=${s.fpr} form=binary sha256=${d} via=ticket`));
  }, 240_000);

  it('Debian: .dsc and .buildinfo clearsigned, .changes rewritten and named, then signed after this log\'s ticket; gpgv and dscverify accept them', async () => {
    const ctx = buildQubeContext(s);
    const built = await buildFixture(ctx, VM_BOOKWORM, '1.0');
    const path = (kind: string) => built.artifacts.find((a) => a.kind === kind)!.path;
    const before = readFileSync(path('changes'));
    const log = recordedLog(ctx, 'sign-vm-bookworm');
    const pending = await signStage(ctx, built, log);
    expect(pending).toBeDefined();
    // The manifest names the rewritten .changes in clearsign form, and it is what is on disk.
    const changes = readFileSync(path('changes'));
    expect(changes.equals(pending!.bytes)).toBe(true);
    expect(changes.equals(before)).toBe(false);
    expect(log.text()).toContain(`manifest clearsign ${formDigest('clearsign', changes)} ${basename(path('changes'))}`);
    for (const kind of ['dsc', 'buildinfo']) {
      expect(readFileSync(path(kind), 'utf8')).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA\d+\n\n/);
      const v = await s.gpg.gpgv(s.ring, path(kind));
      expect(v.code, v.stderr).toBe(0);
    }
    // The .changes lists the signed files' sums (what dscverify checks).
    const dscSha = (await run('sha256sum', [path('dsc')])).stdout.toString().split(' ')[0];
    expect(changes.toString()).toContain(` ${dscSha} ${readFileSync(path('dsc')).length} ${basename(path('dsc'))}\n`);
    // Not yet signed: this stage's log has not been published.
    expect(changes.toString()).not.toMatch(/BEGIN PGP/);
    await log.finish();
    await signChanges(ctx, pending);
    const v = await s.gpg.gpgv(s.ring, path('changes'));
    expect(v.code, v.stderr).toBe(0);
    const dv = await run('dscverify', ['--no-default-keyrings', '--keyring', s.ring, path('changes')], { cwd: dirname(path('changes')) });
    expect(dv.code, dv.stdout.toString() + dv.stderr).toBe(0);
    expect(dv.stdout.toString()).toMatch(/All files validated successfully/);
  }, 240_000);

  it('a signature with no ticket is refused after the bounded wait and leaves the package as it was', async () => {
    const ctx = buildQubeContext(s);
    const built = await buildFixture(ctx, VM_FC42, '2.0', { logged: false });
    const rpm = built.artifacts.find((a) => a.kind === 'rpm')!;
    const bytes = readFileSync(rpm.path);
    const unlogged = { ...built, artifacts: [rpm] };
    const started = Date.now();
    const log = recordedLog(ctx, 'sign-refused');
    await expect(signStage(ctx, unlogged, log, { timeoutMs: 3000 })).rejects.toThrow(/still holds no ticket after \d+ tries/);
    await log.finish();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(readFileSync(rpm.path).equals(bytes)).toBe(true);
    expect(readdirSync(dirname(rpm.path)).filter((n) => !n.endsWith('.rpm'))).toEqual([]);
  }, 240_000);

  it('any other refusal is final at once (a key the keys qube does not hold)', async () => {
    const ctx = buildQubeContext(s, { signKey: 'nobody@example.invalid' });
    const built = await buildFixture(ctx, VM_BOOKWORM, '3.0');
    const dsc = built.artifacts.find((a) => a.kind === 'dsc')!.path;
    const bytes = readFileSync(dsc);
    // The first tries may meet "no ticket yet" (it is on its way); once it is there, only the key is wrong.
    const started = Date.now();
    const log = recordedLog(ctx, 'sign-badkey');
    const err = await signStage(ctx, built, log, { timeoutMs: 60_000 }).catch((e: Error) => e);
    await log.finish();
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).not.toMatch(/no ticket/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(readFileSync(dsc).equals(bytes)).toBe(true);
    expect(existsSync(`${dsc}.qbuild-signed`)).toBe(false);
  }, 240_000);
});
