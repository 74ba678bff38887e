import { createHash } from 'node:crypto';
import { QbuildError } from '../errors.js';

/**
 * What a signature commits to (docs/gate.md). An OpenPGP signature does not always hash the
 * bytes it was asked to sign: a text-mode (`-t`) or cleartext (`--clearsign`) signature hashes
 * a canonical text, so every input with the same canonical text verifies with it. A manifest
 * entry and a ticket therefore name a digest *in a form*, and the gate computes the digest in
 * the form the requested signature binds.
 *
 *   binary     raw bytes (detach-sign or sign without -t)
 *   text       GnuPG 2.2's text-mode hash input (-t)
 *   clearsign  GnuPG 2.2's cleartext hash input (--clearsign)
 */
export type SignForm = 'binary' | 'text' | 'clearsign';

export const SIGN_FORMS: readonly SignForm[] = ['binary', 'text', 'clearsign'];

/** The token a manifest line and a ticket write before `:<hex>`, per form. */
export const FORM_TOKEN: Record<SignForm, string> = {
  binary: 'sha256',
  text: 'text-sha256',
  clearsign: 'clearsign-sha256',
};

/** The form a token names, or undefined for anything else (exact, lowercase). */
export function formFromToken(token: string): SignForm | undefined {
  for (const f of SIGN_FORMS) if (FORM_TOKEN[f] === token) return f;
  return undefined;
}

/**
 * Longest line (bytes, line ending included) a text or clearsign form accepts. GnuPG 2.2 reads
 * text a line at a time into a buffer of ~20000 bytes and silently drops the rest of a longer
 * line from the hash, so two texts differing past that column would verify with one
 * signature: such input is refused rather than signed.
 */
export const MAX_TEXT_LINE = 16384;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;

/** Splits at LF: each piece with its LF (the last piece may lack one; empty input: no pieces). */
function lines(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(LF, start);
    const end = nl < 0 ? data.length : nl + 1;
    if (end - start > MAX_TEXT_LINE) {
      throw new QbuildError('bad-input', `text line ${out.length + 1} is longer than ${MAX_TEXT_LINE} bytes: GnuPG would not hash all of it`);
    }
    out.push(data.subarray(start, end));
    start = end;
  }
  return out;
}

/** Length of `line` without its trailing bytes from `set`. */
function trimmedLength(line: Buffer, set: readonly number[]): number {
  let n = line.length;
  while (n > 0 && set.includes(line[n - 1]!)) n--;
  return n;
}

const CRLF = Buffer.from('\r\n');

/**
 * Text mode, as GnuPG 2.2 hashes it both when signing and when verifying (g10/textfilter.c,
 * default --no-rfc2440-text; checked with `gpg --debug hashing`, 2.2.40): each line loses its
 * LF and every CR before it; a line that had an LF ends in CR LF; a last line without LF gets
 * none. Spaces, tabs and CRs followed by anything else stay.
 */
function textForm(data: Buffer): Buffer {
  const out: Buffer[] = [];
  for (const l of lines(data)) {
    out.push(l.subarray(0, trimmedLength(l, [CR, LF])));
    if (l[l.length - 1] === LF) out.push(CRLF);
  }
  return Buffer.concat(out);
}

/**
 * Cleartext, as GnuPG 2.2 hashes it (g10/textfilter.c copy_clearsig_text, armor.c on
 * verify; RFC 4880 §7.1): each line loses its LF and every space, tab and CR before it; lines
 * are joined by CR LF; the line ending before the signature armor is not hashed, so `a` and
 * `a\n` sign the same text, while `a\n  ` signs `a` CR LF.
 */
function clearsignForm(data: Buffer): Buffer {
  const out: Buffer[] = [];
  lines(data).forEach((l, i) => {
    if (i > 0) out.push(CRLF);
    out.push(l.subarray(0, trimmedLength(l, [SP, TAB, CR, LF])));
  });
  return Buffer.concat(out);
}

/** The exact bytes a signature of this form hashes (before the signature trailer). */
export function signedBytes(form: SignForm, data: Buffer): Buffer {
  switch (form) {
    case 'binary': return data;
    case 'text': return textForm(data);
    case 'clearsign': return clearsignForm(data);
  }
}

/** sha256 (lowercase hex) of the bytes a signature of this form hashes. */
export function formDigest(form: SignForm, data: Buffer): string {
  return createHash('sha256').update(signedBytes(form, data)).digest('hex');
}
