import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandsSectionJson } from '../../../../src/protocol/github/command/authorisation.js';
import { decide, type Decision } from '../../../../src/roles/build/commands/decide.js';
import { remember } from '../../../../src/roles/build/commands/replay-store.js';
import type { BuildConfig } from '../../../../src/roles/build/pipeline/types.js';
import { buildPaths, type BuildPaths } from '../../../../src/roles/build/state/paths.js';
import { TestSigner } from '../../../helpers/gpg.js';

/** decide() with real gpg signatures: the signature and time rules the simulator matrix does not reach. */
let signer: TestSigner;
let fpr: string;
let dir: string;
let paths: BuildPaths;
const LINE = 'Build-iso r4.3 4.3.0';

const config = (keys: string | null): BuildConfig => ({
  vm: 'build-fedora', env: 'fedora', logsVm: 'logs', keysVm: 'keys-fedora', release: 'r4.3',
  dists: [{ name: 'vm-fc42', set: 'vm', dist: 'fc42', format: 'rpm' }], components: [], maintainerKeys: '', signKey: '',
  repositoryRoot: join(dir, 'repo'), upload: {}, sshProxyVm: 'sys-net', remoteHosts: [], commandsPublicKeys: keys,
});
const epoch = (d: Date): string => String(Math.floor(d.getTime() / 1000));
const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 12);

let section: CommandsSectionJson;
beforeAll(() => {
  signer = new TestSigner();
  fpr = /^fpr:+([0-9A-F]{40}):/m.exec(signer.gpgSync(['--with-colons', '--list-keys']))![1]!;
  section = { maintainers: { [fpr]: { components: '_all_', distributions: '_all_', templates: '_all_', iso: true } } };
  dir = mkdtempSync(join(tmpdir(), 'qb-decide-'));
  paths = buildPaths(dir);
});
afterAll(() => { signer.cleanup(); rmSync(dir, { recursive: true, force: true }); });

const pub = () => signer.gpgSync(['--armor', '--export', fpr]);
const run = (text: string, o: { keys?: string | null; now?: Date } = {}): Promise<Decision> =>
  decide({ text, config: config(o.keys === undefined ? pub() : o.keys), section, paths, now: o.now ?? new Date() });
const reason = (d: Decision): string => (d.accepted ? 'accepted' : d.reason);

describe('decide: signature and time rules, real gpg signatures', () => {
  it('accepts a fresh Build-iso by the maintainer; the build promotion stub\'s refusal is passed on', async () => {
    // images.ts is PROMOTE's: until it builds ISOs its refusal is the verdict, after every check of ours passed.
    const d = await run(signer.clearsign(`${LINE} ${stamp(new Date())}\n`));
    expect(d.signer).toBe(fpr);
    if (!d.accepted) expect(d.reason).not.toMatch(/signature|window|replay|signer|release/);
  });

  it('refuses another release than the env\'s, before any crypto', async () => {
    expect(reason(await run(signer.clearsign(`Build-iso r4.2 4.2.0 ${stamp(new Date())}\n`)))).toBe("release r4.2 is not this env's (r4.3)");
  });

  it('refuses when no command keys are provisioned', async () => {
    expect(reason(await run(signer.clearsign(`${LINE} ${stamp(new Date())}\n`), { keys: null }))).toMatch(/no command keys are configured/);
  });

  it('refuses a signature made more than 5 minutes in the future, takes one 2 minutes ahead (clock skew)', async () => {
    const now = new Date();
    const future = (ms: number) => signer.gpgSync(['--clearsign', '--digest-algo', 'SHA256', '--faked-system-time', `${epoch(new Date(now.getTime() + ms))}!`], { input: `${LINE} ${stamp(now)}\n` });
    expect(reason(await run(future(3_600_000), { now }))).toMatch(/signature made in the future/);
    expect(reason(await run(future(120_000), { now }))).not.toMatch(/future|bad signature/);
  });

  it('names the primary key as the signer of a signature made by its signing subkey', async () => {
    const s = new TestSigner();
    try {
      const own = /^fpr:+([0-9A-F]{40}):/m.exec(s.gpgSync(['--with-colons', '--list-keys']))![1]!;
      s.gpgSync(['--quick-add-key', own, 'ed25519', 'sign', 'never']);
      const text = s.clearsign(`${LINE} ${stamp(new Date())}\n`);
      const { parseCanonicalCommand } = await import('../../../../src/protocol/github/command/canonical.js');
      const sig = await (await import('openpgp')).readSignature({ binarySignature: parseCanonicalCommand(text).packet });
      const issuer = sig.packets[0]!.issuerKeyID.toHex().toUpperCase();
      expect(s.gpgSync(['--with-colons', '--list-keys', own])).toMatch(new RegExp(`^sub:.*:${issuer}:`, 'm')); // gpg signed with the subkey
      const d = await decide({ text, config: config(s.gpgSync(['--armor', '--export', own])), section: { maintainers: { [own]: section.maintainers[fpr]! } }, paths, now: new Date() });
      expect(d.signer).toBe(own);
      expect(reason(d)).not.toMatch(/signature|signer/);
    } finally {
      s.cleanup();
    }
  });

  it('refuses a signature by a revoked key', async () => {
    const s = new TestSigner();
    try {
      const own = /^fpr:+([0-9A-F]{40}):/m.exec(s.gpgSync(['--with-colons', '--list-keys']))![1]!;
      const text = s.clearsign(`${LINE} ${stamp(new Date())}\n`);
      // gpg made a revocation certificate with the key; importing it revokes the key.
      const cert = readFileSync(join(s.dir, 'openpgp-revocs.d', `${own}.rev`), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
      s.gpgSync(['--import'], { input: cert });
      const keys = s.gpgSync(['--armor', '--export', own]);
      const d = await decide({ text, config: config(keys), section: { maintainers: { [own]: section.maintainers[fpr]! } }, paths, now: new Date() });
      expect(reason(d)).toMatch(/revoked/);
    } finally {
      s.cleanup();
    }
  });

  it('refuses a Build-iso timestamp an hour and a minute old, or 6 minutes ahead; takes 59 minutes old', async () => {
    const now = new Date();
    const at = (ms: number) => signer.clearsign(`${LINE} ${stamp(new Date(now.getTime() + ms))}\n`);
    expect(reason(await run(at(-61 * 60_000), { now }))).toMatch(/outside the allowed window/);
    expect(reason(await run(at(6 * 60_000), { now }))).toMatch(/outside the allowed window/);
    expect(reason(await run(at(-59 * 60_000), { now }))).not.toMatch(/window/);
  });

  it('refuses a signature the replay store remembers', async () => {
    const text = signer.clearsign(`Build-iso r4.3 4.3.9 ${stamp(new Date())}\n`);
    const first = await run(text);
    expect(reason(first)).not.toMatch(/replay/);
    const { parseCanonicalCommand } = await import('../../../../src/protocol/github/command/canonical.js');
    const digest = parseCanonicalCommand(text).digest;
    expect(remember(paths, digest, { test: true })).toBe(true);
    expect(remember(paths, digest, { test: true })).toBe(false);
    expect(reason(await run(text))).toBe(`replay: this signature (sha256 ${digest}) was accepted before`);
  });

  it('refuses a signature a store from before the hashed-part identity remembers under its whole packet\'s SHA-256', async () => {
    const { parseCanonicalCommand } = await import('../../../../src/protocol/github/command/canonical.js');
    const text = signer.clearsign(`Build-iso r4.3 4.3.7 ${stamp(new Date())}\n`);
    const c = parseCanonicalCommand(text);
    expect(reason(await run(text))).not.toMatch(/replay/);
    expect(remember(paths, createHash('sha256').update(c.packet).digest('hex'), { test: true })).toBe(true);
    expect(reason(await run(text))).toBe(`replay: this signature (sha256 ${c.digest}) was accepted before`);
  });

  it('refuses a replay whose signature packet was re-encoded: its unhashed subpackets, which anyone can change, are not its identity', async () => {
    const { parseCanonicalCommand } = await import('../../../../src/protocol/github/command/canonical.js');
    const { crc24 } = await import('../../../../src/protocol/pgp/armor.js');
    const text = signer.clearsign(`Build-iso r4.3 4.3.8 ${stamp(new Date())}\n`);
    const c = parseCanonicalCommand(text);
    expect(remember(paths, c.digest, { test: true })).toBe(true);
    // An old-format signature packet with a one-octet length (gpg's Ed25519 signature): add a
    // private, non-critical subpacket (type 100) to the unhashed area; it still verifies.
    const p = c.packet;
    expect(p[0]).toBe(0x88);
    const body = p.subarray(2);
    const unhashedAt = 6 + body.readUInt16BE(4);
    const unhashedLen = body.readUInt16BE(unhashedAt);
    const extra = Buffer.from([0x02, 0x64, 0x00]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(unhashedLen + extra.length);
    const newBody = Buffer.concat([body.subarray(0, unhashedAt), len, body.subarray(unhashedAt + 2, unhashedAt + 2 + unhashedLen), extra, body.subarray(unhashedAt + 2 + unhashedLen)]);
    const packet = Buffer.concat([Buffer.from([p[0]!, newBody.length]), newBody]);
    const crc = Buffer.alloc(3);
    crc.writeUIntBE(crc24(packet), 0, 3);
    const head = text.slice(0, text.indexOf('-----BEGIN PGP SIGNATURE-----\n') + 30);
    const mutated = `${head}\n${packet.toString('base64').match(/.{1,64}/g)!.join('\n')}\n=${crc.toString('base64')}\n-----END PGP SIGNATURE-----\n`;
    expect(signer.verifies(mutated)).toBe(true);
    expect(reason(await run(mutated))).toBe(`replay: this signature (sha256 ${c.digest}) was accepted before`);
  });
});
