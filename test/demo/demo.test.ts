import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbuildBin } from '../helpers/binary.js';
import { run } from '../helpers/run.js';

// README's main job: a push webhook in, signed and uploaded repositories out, with the
// verdicts of rpmkeys, gpgv, dnf, apt and git verify-commit.
describe('qbuild demo', () => {
  it('builds a maintainer-signed tag through the real build pipeline in a fresh simulator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qbdemo-'));
    try {
      const r = await run(qbuildBin(), ['demo', '--dir', dir], { env: { ...process.env, QBUILD_BIN: qbuildBin() } });
      const out = r.stdout.toString();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(out).toMatch(/sys-net: HTTP 202/);
      for (const vm of ['build-fedora', 'build-debian']) {
        for (const stage of ['fetch', 'build-', 'sign-', 'publish-', 'release-', 'upload']) {
          expect(out).toMatch(new RegExp(`${vm} ${stage}\\S*\\s+ok\\s+log ${vm}/fixture/log_`));
        }
      }
      expect(out).toMatch(/rpmkeys -Kv \S+qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm: Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
      expect(out).toMatch(/gpgv repomd\.xml\.asc: Good signature from "Qubes OS fedora signing key/);
      expect(out).toMatch(/dnf \(gpgcheck=1 repo_gpgcheck=1\) install --downloadonly: \S+qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm/);
      expect(out).toMatch(/gpgv InRelease: Good signature from "Qubes OS debian signing key/);
      expect(out).toMatch(/gpgv qbuild-fixture_1\.0\.0\+deb12u1\.dsc \(clearsigned source\): Good signature from "Qubes OS debian signing key/);
      expect(out).toMatch(/apt-get update \+ download \(signed-by= the release key\): \S+qbuild-fixture_1\.0\.0\+deb12u1_all\.deb/);
      expect(out).toMatch(/upload host .*: yum\/ holds \d+ files/);
      expect(out).toMatch(/upload host .*: deb\/ holds \d+ files/);
      expect(out).toMatch(/git verify-commit HEAD: Good signature from "qbuild logs/);
      expect(out).toMatch(/qbuild verify package \S+qbuild-fixture-1\.0\.0-1\.fc42\.noarch\.rpm: \d+ checks ok \(signature, checkpoint, (cosignatures, )?tiles, entries, ledger entry, inclusion, log file, git commit, provenance/);
      expect(out).toMatch(/qbuild verify package InRelease: \d+ checks ok \(signature, .*inclusion.*git commit/);
      expect(out).toMatch(/qbuild verify ledger: \d+ checks ok/);
      expect(out).toMatch(/^verified: fixture 1\.0\.0 built from a maintainer-signed tag/m);
      // Every call went through the router's policy, and the simulator was shut down.
      const router = readFileSync(join(dir, 'formula', 'sim', 'router.log'), 'utf8');
      expect(router).toMatch(/allow sys-net -> build-fedora qubesbuilder\.TriggerBuild\+fixture/);
      expect(router).toMatch(/allow build-fedora -> logs qubesbuilder\.BuildLog\+fixture \(asked dom0\)/);
      expect(router).toMatch(/allow logs -> keys-fedora qubesbuilder\.LogReceived\+build-fedora \(asked dom0\)/);
      expect(router).toMatch(/allow build-fedora -> keys-fedora qubes\.Gpg/);
      expect(router).toMatch(/allow build-debian -> sys-net local\.ConnectSSH\+localhost/);
      expect(router).toMatch(/router down/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});
