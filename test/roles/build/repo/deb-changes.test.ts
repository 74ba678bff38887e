import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QbuildError } from '../../../../src/errors.js';
import { fixupChanges, fixupControl } from '../../../../src/roles/build/repo/deb-changes.js';
import { clearsignedText } from '../../../../src/roles/build/repo/deb-repo.js';
import { runRecipe } from '../../../../src/roles/build/recipes/run-recipe.js';
import { GpgHome } from '../../../helpers/gpg.js';
import { run } from '../../../helpers/run.js';
import { tempDirs } from '../../../helpers/tmp.js';
import { VM_BOOKWORM, fixtureCheckout, recipeJob } from '../recipes/fixture-checkout.js';

/**
 * Our .changes rewrite against devscripts' own: the same signed .dsc and .buildinfo, then
 * `debsign --no-re-sign` (real devscripts, signing with a local GnuPG key) on one copy and
 * fixupChanges on another. The texts debsign signed and we would sign must be identical.
 */
describe('deb-changes: the .changes rewrite is debsign\'s', () => {
  const tmp = tempDirs('qb-debchanges-');
  const gpg = new GpgHome();
  let fpr = '';
  let gpgProgram = '';
  beforeAll(() => {
    fpr = gpg.generateKey('debsign test <debsign@example.invalid>');
    gpgProgram = join(gpg.dir, 'gpg-here');
    writeFileSync(gpgProgram, `#!/bin/sh\nexec gpg --homedir '${gpg.dir}' --batch --pinentry-mode loopback --passphrase '' "$@"\n`);
    chmodSync(gpgProgram, 0o755);
  });
  afterAll(() => gpg.cleanup());

  it('matches debsign --no-re-sign byte for byte once the .dsc and .buildinfo are signed', async () => {
    const root = tmp();
    const { job } = recipeJob(root, fixtureCheckout(root, '2.5'), VM_BOOKWORM);
    const artifacts = await runRecipe({ kind: 'deb' }, job);
    const path = (kind: string) => artifacts.find((a) => a.kind === kind)!.path;
    const unsigned = readFileSync(path('changes'));
    // Sign the children as the sign stage does: clearsign of the file's exact bytes.
    const children = [];
    for (const kind of ['dsc', 'buildinfo']) {
      const signed = join(root, `${basename(path(kind))}.asc`);
      const r = await run(gpgProgram, ['-u', fpr, '--clearsign', '-o', signed, path(kind)]);
      expect(r.code, r.stderr).toBe(0);
      copyFileSync(signed, path(kind));
      children.push({ name: basename(path(kind)), data: readFileSync(path(kind)) });
    }
    const ours = fixupChanges(unsigned, children);
    expect(ours.equals(unsigned)).toBe(false);

    const d = await run('debsign', ['--no-conf', `-k${fpr}`, `-p${gpgProgram}`, '--no-re-sign', path('changes')], { env: { ...process.env, HOME: root } });
    expect(d.code, d.stderr + d.stdout.toString()).toBe(0);
    expect(d.stderr).toMatch(/Leaving current signature unchanged/); // it took our signed .buildinfo as it was
    const debsigned = readFileSync(path('changes'), 'utf8');
    // debsign signs the file plus one empty line (its signfile: cat FILE; echo "").
    expect(clearsignedText(debsigned)).toBe(`${ours.toString('utf8')}\n`);
    const v = await gpg.gpgv(await exportRing(), path('changes'));
    expect(v.code, v.stderr).toBe(0);
  }, 120_000);

  async function exportRing(): Promise<string> {
    const ring = join(gpg.dir, 'pub.gpg');
    const r = await run('gpg', ['--homedir', gpg.dir, '--batch', '--export', fpr]);
    writeFileSync(ring, r.stdout);
    return ring;
  }

  const changes = (format: string, extra = '') => Buffer.from(`Format: ${format}
Source: x
Checksums-Sha1:
 0000000000000000000000000000000000000000 3 x_1.dsc
 1111111111111111111111111111111111111111 4 x_1.tar.xz
Checksums-Sha256:
 ${'0'.repeat(64)} 3 x_1.dsc
Files:
 00000000000000000000000000000000 3 misc optional x_1.dsc
${extra}`);

  it('rewrites only the child\'s lines, in every checksum section, and keeps Files\' section and priority', () => {
    const data = Buffer.from('signed dsc\n');
    const out = fixupControl('changes', changes('1.8'), { name: 'dir/x_1.dsc', data }).toString();
    expect(out).toContain(` ${hash('sha1', data)} ${data.length} x_1.dsc\n`);
    expect(out).toContain(` ${hash('sha256', data)} ${data.length} x_1.dsc\n`);
    expect(out).toContain(` ${hash('md5', data)} ${data.length} misc optional x_1.dsc\n`);
    expect(out).not.toContain('0000000000000000000000000000000000000000 3 x_1.dsc');
    expect(out).toContain(' 1111111111111111111111111111111111111111 4 x_1.tar.xz\n');
  });

  it('refuses what debsign refuses: unsupported formats, unknown checksum sections, a signed parent', () => {
    const child = { name: 'x_1.dsc', data: Buffer.from('a') };
    expect(() => fixupControl('changes', changes('1.9'), child)).toThrow(/Unsupported .changes format: 1.9/);
    expect(() => fixupControl('changes', changes('1.a'), child)).toThrow(/Unrecognised .changes format: 1.a/);
    expect(() => fixupControl('changes', changes('1.8', 'Checksums-Sha512:\n x\n'), child)).toThrow(/Unknown checksum format/);
    expect(() => fixupControl('changes', Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----\n'), child)).toThrow(QbuildError);
    expect(() => fixupControl('buildinfo', changes('1.0'), child)).not.toThrow();
    expect(() => fixupControl('buildinfo', changes('1.1'), child)).toThrow(/Unsupported .buildinfo format/);
  });
});

const hash = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
