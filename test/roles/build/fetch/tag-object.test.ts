import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTagObject, TagFormatError } from '../../../../src/roles/build/fetch/tag-object.js';
import { makeComponentRepo, MaintainerKeys, type Maintainer } from '../../../helpers/maintainers.js';
import { tempDirs } from '../../../helpers/tmp.js';

const tmp = tempDirs('qb-tagobj-');
let keys: MaintainerKeys;
let alice: Maintainer;
let signed: Buffer;
let unsigned: Buffer;
let commit: string;

/** Real tag objects, as `git tag -s` / `git tag -a` wrote them. */
beforeAll(() => {
  keys = new MaintainerKeys();
  alice = keys.create('Alice');
  const root = tmp();
  const r = makeComponentRepo({
    keys, root, name: 'a.git', files: { README: 'hi\n' },
    tags: [{ name: 'v1.2.3-1', signers: [alice] }, { name: 'v1.2.3-2', signers: [] }],
  });
  commit = r.head;
  signed = execFileSync('git', ['-C', r.bare, 'cat-file', 'tag', 'v1.2.3-1']);
  unsigned = execFileSync('git', ['-C', r.bare, 'cat-file', 'tag', 'v1.2.3-2']);
});
afterAll(() => keys?.cleanup());

const edit = (from: Buffer, a: string, b: string) => {
  const s = from.toString('utf8');
  expect(s).toContain(a);
  return Buffer.from(s.replace(a, b), 'utf8');
};
const rejects = (raw: Buffer, why: RegExp) => {
  expect(() => parseTagObject(raw)).toThrow(TagFormatError);
  expect(() => parseTagObject(raw)).toThrow(why);
};

describe('parseTagObject', () => {
  it('reads a signed tag git wrote, and its payload is exactly what gpg verifies', () => {
    const t = parseTagObject(signed);
    expect(t).toMatchObject({ object: commit, type: 'commit', tag: 'v1.2.3-1', message: 'Version v1.2.3-1\n' });
    expect(t.tagger).toMatchObject({ name: 'Fixture Author', email: 'author@example.invalid', tz: '+0000' });
    expect(Math.abs(t.tagger.time - Date.now() / 1000)).toBeLessThan(600);
    expect(t.signature).toMatch(/^-----BEGIN PGP SIGNATURE-----\n[\s\S]+-----END PGP SIGNATURE-----\n$/);
    expect(Buffer.concat([t.payload, Buffer.from(t.signature!)]).equals(signed)).toBe(true);
    const dir = tmp();
    writeFileSync(join(dir, 'payload'), t.payload);
    writeFileSync(join(dir, 'sig.asc'), t.signature!);
    // gpg exits non-zero (and execFileSync throws) unless the signature is good over these bytes.
    const out = execFileSync('gpg', ['--homedir', keys.gpg.dir, '--batch', '--status-fd', '1', '--verify', join(dir, 'sig.asc'), join(dir, 'payload')], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(out).toContain(`VALIDSIG ${alice.fingerprint}`);
  });

  it('reads an unsigned annotated tag with a null signature', () => {
    const t = parseTagObject(unsigned);
    expect(t.signature).toBeNull();
    expect(t.payload.equals(unsigned)).toBe(true);
    expect(t.tag).toBe('v1.2.3-2');
  });

  it('refuses headers other than object/type/tag/tagger in that order', () => {
    rejects(edit(signed, '\ntagger ', '\ngpgsig x\ntagger '), /5 header lines/);
    rejects(edit(unsigned, /\ntagger [^\n]*/.exec(unsigned.toString())![0], ''), /3 header lines/);
    const [o, ty] = unsigned.toString().split('\n');
    rejects(edit(unsigned, `${o}\n${ty}\n`, `${ty}\n${o}\n`), /header 1 is not "object"/);
    rejects(edit(unsigned, `object ${commit}`, `object ${commit.toUpperCase()}`), /not a 40-hex object id/);
    rejects(edit(unsigned, 'type commit', 'type note'), /is not an object type/);
    rejects(edit(unsigned, ' +0000\n', ' 0000\n'), /"tagger" is not/);
  });

  it('refuses two signature blocks, text after the block, and other kinds of signature', () => {
    const block = parseTagObject(signed).signature!;
    rejects(Buffer.concat([signed, Buffer.from(block)]), /more than one signature block/);
    rejects(Buffer.concat([signed, Buffer.from('trailing words\n')]), /not terminated by the end of the object/);
    rejects(edit(signed, '\n\nVersion', '\n\n-----BEGIN PGP MESSAGE-----\nVersion'), /another armored block/);
    rejects(Buffer.concat([unsigned, Buffer.from('-----BEGIN SSH SIGNATURE-----\nU1NI\n-----END SSH SIGNATURE-----\n')]), /not an OpenPGP signature block/);
  });

  it('refuses NUL bytes and invalid UTF-8', () => {
    rejects(Buffer.concat([unsigned, Buffer.from([0])]), /NUL byte/);
    rejects(Buffer.concat([unsigned, Buffer.from([0xff, 0xfe])]), /not valid UTF-8/);
  });
});
