import { BEGIN_SIGNED, END_SIGNATURE, clearsignedShapeError } from './clearsigned.js';

/** Trailing blanks (space, CR, tab, FF, VT) before each newline: GitHub's editor adds CRs. */
const TRAILING_BLANKS = /[ \r\t\f\v]+\n/g;

/**
 * Cuts the clearsigned command out of an issue comment body (design §8), as upstream's
 * process_comment does, or returns undefined when there is none. Rules:
 * - the body must be a string of ASCII only (anything else is ignored, like upstream);
 * - trailing blanks are stripped from every line before searching;
 * - the block starts at `-----BEGIN PGP SIGNED MESSAGE-----\nHash: ` and ends at the first
 *   `\n-----END PGP SIGNATURE-----` after it; text around the block is dropped;
 * - a comment with a second signed block is forwarded from the first block's start to the
 *   last block's end, so the build VM refuses it with its reason in the public command log
 *   (docs/commands.md), rather than sys-net silently running only the first;
 * - the result ends with exactly one `\n` and must pass clearsignedShapeError (at most 8 KiB,
 *   printable ASCII): a block the build VM would refuse anyway is not forwarded.
 * The signature is not verified here: build VMs verify (sys-net is not trusted with that).
 */
export function extractClearsignedBlock(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  if (!/^[\x00-\x7f]*$/.test(body)) return undefined;
  const text = body.replace(TRAILING_BLANKS, '\n');
  const start = text.indexOf(`${BEGIN_SIGNED}Hash: `);
  if (start < 0) return undefined;
  let end = text.indexOf(END_SIGNATURE, start);
  if (end < 0) return undefined;
  if (text.includes(BEGIN_SIGNED, end)) end = Math.max(end, text.lastIndexOf(END_SIGNATURE));
  const block = `${text.slice(start, end + END_SIGNATURE.length)}\n`;
  return clearsignedShapeError(block) === undefined ? block : undefined;
}
