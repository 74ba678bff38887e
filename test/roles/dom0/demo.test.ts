import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qbuildBin } from '../../helpers/binary.js';
import { run } from '../../helpers/run.js';

// README's main job: the whole pipeline, with rpmkeys and git verify-commit as the verdicts.
describe('qbuild demo', () => {
  it('builds, logs, tickets, signs and verifies a real RPM in a fresh simulator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qbdemo-'));
    try {
      const r = await run(qbuildBin(), ['demo', '--dir', dir], { env: { ...process.env, QBUILD_BIN: qbuildBin() } });
      const out = r.stdout.toString();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(out).toMatch(/rpmkeys -Kv: Header V4 EdDSA\/SHA256 Signature, key ID [0-9a-f]{8}: OK/);
      expect(out).toMatch(/git verify-commit HEAD: Good signature from "qbuild logs/);
      expect(out).toMatch(/unlisted bytes: refused \(qbuild: keys: refused to sign: no ticket for sha256:/);
      expect(out).toMatch(/^verified: qbuild-demo-1\.0-1\.noarch\.rpm is signed by keys-fedora/m);
      // The simulator was shut down, and every call went through the router's policy.
      const router = readFileSync(join(dir, 'formula', 'sim', 'router.log'), 'utf8');
      expect(router).toMatch(/allow build-fedora -> logs qubesbuilder\.BuildLog\+qbuild-demo \(asked dom0\)/);
      expect(router).toMatch(/allow logs -> keys-fedora qubesbuilder\.LogReceived\+build-fedora \(asked dom0\)/);
      expect(router).toMatch(/allow build-fedora -> keys-fedora qubes\.Gpg/);
      expect(router).toMatch(/router down/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
