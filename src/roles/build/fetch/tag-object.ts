/**
 * Strict parser of a git annotated tag object (the bytes whose sha1 is the tag's id), pure:
 * bytes in, value out. Git appends a tag's OpenPGP signature to the message; the signed
 * payload is every byte before the signature block (what `git verify-tag` hands to gpg).
 */

export type TagTargetType = 'commit' | 'tree' | 'blob' | 'tag';

export interface Tagger {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  time: number;
  /** e.g. `+0000` */
  tz: string;
}

export interface TagObject {
  object: string;
  type: TagTargetType;
  tag: string;
  tagger: Tagger;
  /** The message, without the signature block. */
  message: string;
  /** The bytes the signature must cover: the whole object up to the signature block. */
  payload: Buffer;
  /** The armored signature block, or null for an unsigned tag. */
  signature: string | null;
}

/** Why a tag object was rejected; the caller names the tag. */
export class TagFormatError extends Error {}

const BEGIN = '-----BEGIN PGP SIGNATURE-----\n';
const END = '-----END PGP SIGNATURE-----\n';

/**
 * Rules, in order:
 * - UTF-8 text without NUL bytes;
 * - exactly the headers `object <40 lower-case hex>`, `type commit|tree|blob|tag`,
 *   `tag <name>` (printable, no spaces) and `tagger <name> <<email>> <seconds> <±hhmm>`, in
 *   that order, each once, then one empty line; no other header (no `gpgsig`, no `encoding`);
 * - the message follows; a signature is one `-----BEGIN PGP SIGNATURE-----` block starting at
 *   a line start and ending the object with `-----END PGP SIGNATURE-----\n`; a second such
 *   block, any other armor (`-----BEGIN SSH SIGNATURE-----`, X.509 `SIGNED MESSAGE`) or text
 *   after the block is refused.
 */
export function parseTagObject(raw: Buffer): TagObject {
  if (raw.includes(0)) throw new TagFormatError('tag object contains a NUL byte');
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) throw new TagFormatError('tag object is not valid UTF-8');

  const headerEnd = text.indexOf('\n\n');
  if (headerEnd < 0) throw new TagFormatError('tag object has no message separator');
  const lines = text.slice(0, headerEnd).split('\n');
  const want = ['object', 'type', 'tag', 'tagger'] as const;
  if (lines.length !== want.length) throw new TagFormatError(`tag object has ${lines.length} header lines, expected object/type/tag/tagger`);
  const value = (i: number): string => {
    const line = lines[i]!;
    const key = want[i]!;
    if (!line.startsWith(`${key} `)) throw new TagFormatError(`tag header ${i + 1} is not "${key}": ${JSON.stringify(line.slice(0, 40))}`);
    return line.slice(key.length + 1);
  };
  const object = value(0);
  if (!/^[0-9a-f]{40}$/.test(object)) throw new TagFormatError('tag "object" is not a 40-hex object id');
  const type = value(1);
  if (type !== 'commit' && type !== 'tree' && type !== 'blob' && type !== 'tag') throw new TagFormatError(`tag "type" ${JSON.stringify(type)} is not an object type`);
  const tag = value(2);
  if (!/^[\x21-\x7e]+$/.test(tag)) throw new TagFormatError('tag "tag" name is empty or not printable');
  const tagger = parseTagger(value(3));

  const body = text.slice(headerEnd + 2);
  const at = signatureStart(body);
  if (at < 0) {
    if (/^-----BEGIN /m.test(body)) throw new TagFormatError('tag carries a signature that is not an OpenPGP signature block');
    return { object, type, tag, tagger, message: body, payload: raw, signature: null };
  }
  const block = body.slice(at);
  const message = body.slice(0, at);
  if (/^-----BEGIN /m.test(message)) throw new TagFormatError('tag message contains another armored block before the signature');
  if (block.indexOf(BEGIN, BEGIN.length) >= 0) throw new TagFormatError('tag has more than one signature block');
  if (!block.endsWith(END) || block.indexOf(END) !== block.length - END.length) {
    throw new TagFormatError('tag signature block is not terminated by the end of the object');
  }
  const payloadLength = Buffer.byteLength(text.slice(0, headerEnd + 2 + at), 'utf8');
  return { object, type, tag, tagger, message, payload: raw.subarray(0, payloadLength), signature: block };
}

/** Offset of the first `-----BEGIN PGP SIGNATURE-----` line in the body, or -1. */
function signatureStart(body: string): number {
  if (body.startsWith(BEGIN)) return 0;
  const i = body.indexOf(`\n${BEGIN}`);
  return i < 0 ? -1 : i + 1;
}

/** `Name <email> <seconds> <±hhmm>`: name without `<>` or newlines, email without `<>`. */
function parseTagger(v: string): Tagger {
  const m = /^([^<>\n]*) <([^<>\n]*)> ([0-9]{1,12}) ([+-][0-9]{4})$/.exec(v);
  if (!m) throw new TagFormatError('tag "tagger" is not "name <email> seconds ±hhmm"');
  return { name: m[1]!.trim(), email: m[2]!, time: Number(m[3]), tz: m[4]! };
}
