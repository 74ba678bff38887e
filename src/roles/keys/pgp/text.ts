/** Canonical text for text-mode and cleartext signatures (RFC 4880 §5.2.1, §7.1). */

/** Text mode (`-t`): every line ending becomes CR LF. */
export function canonicalText(data: Buffer): Buffer {
  return Buffer.from(data.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

/**
 * Cleartext framework: lines without trailing spaces/tabs joined by CR LF; the line ending
 * before the armor header is not part of the signed text, so a final newline adds nothing.
 */
export function clearsignLines(data: Buffer): string[] {
  const lines = data.toString('latin1').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export function clearsignHashInput(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => l.replace(/[ \t]+$/, '')).join('\r\n'), 'latin1');
}

/** The visible text: each line as given, dash-escaped when it begins with `-`. */
export function clearsignBody(lines: string[]): Buffer {
  return Buffer.from(lines.map((l) => (l.startsWith('-') ? `- ${l}` : l)).join('\n') + '\n', 'latin1');
}
