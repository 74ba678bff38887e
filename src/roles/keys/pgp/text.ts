/**
 * The visible text of a cleartext signature, as GnuPG 2.2 writes it (copy_clearsig_text):
 * every input line as given (CRs and trailing blanks kept: the hash ignores them), `- `
 * before a line that begins with `-`, each ended by LF, a missing final LF added. What the
 * signature hashes is signedBytes('clearsign', data) (src/protocol/signform.ts).
 */
export function clearsignBody(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  while (start < data.length) {
    const nl = data.indexOf(0x0a, start);
    const end = nl < 0 ? data.length : nl;
    if (data[start] === 0x2d) out.push(Buffer.from('- '));
    out.push(data.subarray(start, end), Buffer.from('\n'));
    start = end + 1;
  }
  if (out.length === 0) out.push(Buffer.from('\n'));
  return Buffer.concat(out);
}
