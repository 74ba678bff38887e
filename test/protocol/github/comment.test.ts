import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractClearsignedBlock } from '../../../src/protocol/github/comment.js';
import { clearsignedShapeError } from '../../../src/protocol/github/clearsigned.js';
import { TestSigner } from '../../helpers/gpg.js';

let signer: TestSigner;
let block: string;
beforeAll(() => {
  signer = new TestSigner();
  block = signer.clearsign('Upload-component r4.2 core-qrexec 0123456789abcdef0123456789abcdef01234567 current all\n');
});
afterAll(() => signer.cleanup());

describe('extractClearsignedBlock', () => {
  it('cuts gpg\'s clearsigned block out of a comment, byte for byte', () => {
    expect(signer.verifies(block)).toBe(true);
    const body = `Please upload this:\n\n${block}\nThanks!`;
    expect(extractClearsignedBlock(body)).toBe(block);
  });

  it('strips trailing blanks and CRs per line (what the GitHub editor adds), so gpg still verifies', () => {
    const mangled = block.split('\n').map((l) => `${l} \t\r`).join('\n');
    const out = extractClearsignedBlock(`text\r\n${mangled}`);
    expect(out).toBe(block);
    expect(signer.verifies(out!)).toBe(true);
  });

  it('adds the final newline when the comment ends right after the signature', () => {
    expect(extractClearsignedBlock(block.trimEnd())).toBe(block);
  });

  it('ignores comments without a complete block, with non-ASCII, or not a string', () => {
    expect(extractClearsignedBlock('LGTM')).toBeUndefined();
    expect(extractClearsignedBlock(block.replace('-----END PGP SIGNATURE-----', ''))).toBeUndefined();
    expect(extractClearsignedBlock(block.replace('\nHash: ', '\nHush: '))).toBeUndefined();
    expect(extractClearsignedBlock(`Grüße\n${block}`)).toBeUndefined();
    expect(extractClearsignedBlock(undefined)).toBeUndefined();
    expect(extractClearsignedBlock({ body: block })).toBeUndefined();
  });

  it('ignores blocks larger than 8 KiB', () => {
    const huge = block.replace('Upload-component', `${'x'.repeat(9000)}\nUpload-component`);
    expect(extractClearsignedBlock(huge)).toBeUndefined();
  });
});

describe('clearsignedShapeError', () => {
  it('accepts gpg output and names what is wrong otherwise', () => {
    expect(clearsignedShapeError(block)).toBeUndefined();
    expect(clearsignedShapeError(block.trimEnd())).toMatch(/newline/);
    expect(clearsignedShapeError(`x${block}`)).toMatch(/clearsigned header/);
    expect(clearsignedShapeError(block.replace('-----BEGIN PGP SIGNATURE-----', 'nope'))).toMatch(/no signature/);
    expect(clearsignedShapeError(`${block}trailing\n`)).toMatch(/end with the signature/);
    expect(clearsignedShapeError(block.replace('Upload', 'Up\tload'))).toMatch(/printable/);
    expect(clearsignedShapeError(block + 'x'.repeat(9000))).toMatch(/longer/);
  });
});

describe('extractClearsignedBlock with two signed blocks', () => {
  it('forwards both blocks (the build VM refuses them with its reason), never only the first', () => {
    const s = new TestSigner();
    try {
      const a = s.clearsign('Build-iso r4.3 4.3.0 202612020130\n');
      const b = s.clearsign('Build-iso r4.3 4.3.1 202612020130\n');
      expect(extractClearsignedBlock(`first:\n${a}\nsecond:\n${b}\nbye`)).toBe(`${a}\nsecond:\n${b}`);
    } finally {
      s.cleanup();
    }
  });
});
