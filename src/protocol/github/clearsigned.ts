/** Limits and markers of an OpenPGP clearsigned command (design §5, ProcessGithubCommand). */
export const MAX_COMMAND_BYTES = 8 * 1024;
export const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----\n';
export const BEGIN_SIGNATURE = '\n-----BEGIN PGP SIGNATURE-----\n';
export const END_SIGNATURE = '\n-----END PGP SIGNATURE-----';

/**
 * Why `text` is not a plausible clearsigned block, or undefined when it is. This is a shape
 * check only (the build VM verifies the signature itself). Rules:
 * - at most 8 KiB, printable ASCII and `\n` only (no CR, tabs or NUL);
 * - starts with the BEGIN PGP SIGNED MESSAGE line followed by a `Hash: ` header line;
 * - contains a BEGIN PGP SIGNATURE line after the signed text;
 * - ends with the END PGP SIGNATURE line and one final `\n`.
 */
export function clearsignedShapeError(text: string): string | undefined {
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) return `longer than ${MAX_COMMAND_BYTES} bytes`;
  if (!/^[\x20-\x7e\n]*$/.test(text)) return 'contains bytes other than printable ASCII and newline';
  if (!text.endsWith('\n')) return 'does not end with a newline';
  if (!text.startsWith(`${BEGIN_SIGNED}Hash: `)) return 'does not start with a clearsigned header and a Hash: line';
  const sig = text.indexOf(BEGIN_SIGNATURE);
  if (sig < 0) return 'has no signature block';
  if (!text.endsWith(`${END_SIGNATURE}\n`) || text.length - END_SIGNATURE.length - 1 < sig) return 'does not end with the signature block';
  return undefined;
}
